import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Principal, ProtocolAdapter, SessionContext } from "../core/index.ts";
import { SessionRevoker } from "./session-revoker.ts";

const session = (principal: Principal): SessionContext =>
  ({
    id: principal.user,
    principal,
    connection: {},
    clientAddress: "127.0.0.1",
  }) as unknown as SessionContext;

describe("SessionRevoker", () => {
  it("ends sessions of revoked logins and of expired unbound credentials only", () => {
    const revoked = new Set(["gone"]);
    const sessions = [
      session({ user: "a", groups: [], kind: "human", loginSessionId: "gone", expiresAt: 2000 }),
      session({ user: "b", groups: [], kind: "human", loginSessionId: "live", expiresAt: 10 }),
      session({ user: "c", groups: [], kind: "service", expiresAt: 995 }),
      session({ user: "d", groups: [], kind: "service", expiresAt: 1001 }),
      session({ user: "e", groups: [], kind: "human" }),
    ];
    const ended: string[] = [];
    const adapter = {
      protocol: "test",
      terminateSessions(shouldEnd: (s: SessionContext) => string | undefined) {
        let count = 0;
        for (const s of sessions) {
          const reason = shouldEnd(s);
          if (reason !== undefined) {
            ended.push(`${s.principal.user}: ${reason}`);
            count++;
          }
        }
        return count;
      },
    } as unknown as ProtocolAdapter;
    const logs: string[] = [];
    const revoker = new SessionRevoker({
      adapters: [adapter, { protocol: "old" } as unknown as ProtocolAdapter],
      isRevoked: (id) => revoked.has(id),
      intervalMs: 1000,
      leewaySeconds: 5,
      log: (m) => logs.push(m),
      now: () => 1_000_000,
    });
    assert.equal(revoker.check(), 2);
    assert.deepEqual(ended, [
      "a: session ended: the login was revoked or has ended",
      "c: session ended: the credential has expired",
    ]);
    assert.deepEqual(logs, ["identity: ended 2 live session(s) of revoked or expired identities"]);
  });
});
