import type { PublicKeySet } from "./public-key-set.ts";
import { signStatement, verifyStatement } from "./signed-statement.ts";
import type { SigningKey } from "./signing-key.ts";

/** The JWS `typ` of a signed audit head: never accepted as a token, and tokens are never accepted as one. */
export const AUDIT_HEAD_TYPE = "sluice-audit-head+jws";

export interface SignedHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Signs a statement "the audit chain's row `seq` has hash `hash`" with the gateway's key: a
 * compact JWS (ES256, `kid` and `typ` in the protected header) over `{"seq":…,"hash":…}`.
 */
export async function signAuditHead(key: SigningKey, head: SignedHead): Promise<string> {
  return signStatement(key, AUDIT_HEAD_TYPE, { seq: head.seq, hash: head.hash });
}

export type HeadVerification =
  | { readonly ok: true; readonly head: SignedHead; readonly kid: string }
  | { readonly ok: false; readonly unknownKey: boolean; readonly reason: string };

/** Checks a signed audit head against the keys the gateway signs with. */
export async function verifyAuditHead(jws: string, keys: PublicKeySet): Promise<HeadVerification> {
  const result = await verifyStatement(jws, keys, AUDIT_HEAD_TYPE, "audit head");
  if (!result.ok) return result;
  const { seq, hash } = result.statement;
  if (typeof seq !== "number" || typeof hash !== "string") {
    return { ok: false, unknownKey: false, reason: "the signed statement is malformed" };
  }
  return { ok: true, head: { seq, hash }, kid: result.kid };
}
