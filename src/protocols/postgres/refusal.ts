import { randomBytes } from "node:crypto";
import type { Decision } from "../../core/index.ts";
import { errorResponse } from "./codec/backend-messages.ts";

/** SQLSTATE for "insufficient privilege": what a denied statement looks like to the client. */
export const SQLSTATE_DENIED = "42501";

/** The ErrorResponse a client receives for a refused statement: names the rule and the reason. */
export function denialError(decision: Decision, sessionId: string): Buffer {
  const rules = decision.ruleIds.length > 0 ? ` by rule ${decision.ruleIds.join(", ")}` : "";
  return errorResponse({
    severity: "ERROR",
    code: SQLSTATE_DENIED,
    message: `sluice: denied${rules}: ${decision.reason}`,
    detail: `reason: ${decision.reasonCode}; policy: ${decision.policyVersion}; session: ${sessionId}`,
  });
}

/**
 * A message that makes the server fail the way a refused statement would, without running
 * anything: it describes a prepared statement that cannot exist. The server then aborts the
 * transaction or pipeline exactly as it would for a real error, and the gateway swaps the
 * server's error (recognised by the nonce in its text) for its own denial.
 */
export function poisonMessage(): { nonce: string; describe: Buffer } {
  const nonce = `sluice_denied_${randomBytes(12).toString("hex")}`;
  const name = Buffer.from(`${nonce}\0`, "utf8");
  const describe = Buffer.allocUnsafe(6 + name.length);
  describe[0] = 0x44; // Describe
  describe.writeUInt32BE(5 + name.length, 1);
  describe[5] = 0x53; // 'S': a prepared statement
  name.copy(describe, 6);
  return { nonce, describe };
}

export const syncMessage = Buffer.from([0x53, 0, 0, 0, 4]);
export const flushMessage = Buffer.from([0x48, 0, 0, 0, 4]);
