import assert from "node:assert/strict";
import { test } from "node:test";
import { AuditLog } from "../audit/index.ts";
import type { Action, Connection, Decider, Decision, Principal } from "../core/index.ts";
import { SqliteStore } from "../store/index.ts";
import { Gate } from "./gate.ts";

const principal: Principal = { user: "alice@corp.example", groups: ["analysts"], kind: "human" };
const connection: Connection = {
  name: "pg-prod",
  protocol: "postgres",
  labels: { env: "prod" },
  target: { host: "127.0.0.1", port: 5432 },
};
const action = (text: string): Action => ({
  kind: "sql.statement",
  protocol: "postgres",
  text,
  facts: { sql: { kinds: [text.split(" ")[0]!.toLowerCase()] } },
  principal,
  connection,
  sessionId: "s1",
});

/** A decider keyed on the statement's first word, so each case is explicit. */
function decider(byWord: Record<string, Decision | Error>): Decider {
  return {
    version: "sha256:test",
    decide(a: Action): Decision {
      const outcome = byWord[a.text.split(" ")[0]!];
      if (outcome instanceof Error) throw outcome;
      return (
        outcome ?? {
          effect: "deny",
          reasonCode: "no-rule-allowed",
          reason: "no",
          ruleIds: [],
          policyVersion: "sha256:test",
        }
      );
    },
  };
}

const allow: Decision = {
  effect: "allow",
  reasonCode: "rule-allowed",
  reason: "ok",
  ruleIds: ["r-allow"],
  policyVersion: "sha256:test",
};
const deny: Decision = {
  effect: "deny",
  reasonCode: "rule-denied",
  reason: "no drops",
  ruleIds: ["r-deny"],
  policyVersion: "sha256:test",
};
const approve: Decision = {
  effect: "approve",
  reasonCode: "approval-required",
  reason: "needs a DBA",
  ruleIds: ["r-approve"],
  policyVersion: "sha256:test",
  approval: { reviewers: ["dba"], minApprovals: 1, ttlSeconds: 3600 },
};

function gateWith(d: Decider, store = new SqliteStore(":memory:")) {
  const gate = new Gate({
    decider: d,
    audit: new AuditLog(store),
    verifyCredential: async () => principal,
    connections: new Map([[connection.name, connection]]),
    log: () => {},
  });
  const session = gate.openSession(principal, connection, "127.0.0.1");
  return { gate, session, store };
}

test("one denied action refuses the whole batch and every action is audited", async () => {
  const { gate, session, store } = gateWith(decider({ SELECT: allow, DROP: deny }));
  const verdict = await gate.judge(session, [action("SELECT 1"), action("DROP TABLE t")]);
  assert.equal(verdict.allowed, false);
  assert.deepEqual(verdict.refusal?.ruleIds, ["r-deny"]);
  assert.deepEqual(
    verdict.decisions.map((d) => d.reasonCode),
    ["batch-denied", "rule-denied"],
  );
  const events = await store.searchAudit({ type: "action.denied" });
  assert.equal(events.length, 2);
});

test("an approval requirement fails closed while approvals are not enabled", async () => {
  const { gate, session } = gateWith(decider({ DELETE: approve }));
  const verdict = await gate.judge(session, [action("DELETE FROM t WHERE id = 1")]);
  assert.equal(verdict.allowed, false);
  assert.equal(verdict.refusal?.reasonCode, "approval-unavailable");
  assert.match(verdict.refusal?.reason ?? "", /needs approval by dba/);
});

test("a policy that throws denies", async () => {
  const { gate, session } = gateWith(decider({ SELECT: new Error("boom") }));
  const verdict = await gate.judge(session, [action("SELECT 1")]);
  assert.equal(verdict.refusal?.reasonCode, "policy-error");
});

test("an audit store that cannot write denies everything, even allowed actions", async () => {
  const store = new SqliteStore(":memory:");
  const { gate, session } = gateWith(decider({ SELECT: allow }), store);
  await store.close();
  const verdict = await gate.judge(session, [action("SELECT 1")]);
  assert.equal(verdict.allowed, false);
  assert.equal(verdict.refusal?.reasonCode, "audit-unavailable");
});

test("an allowed batch is audited before the verdict returns", async () => {
  const { gate, session, store } = gateWith(decider({ SELECT: allow }));
  const verdict = await gate.judge(session, [action("SELECT 1")]);
  assert.equal(verdict.allowed, true);
  const [event] = await store.searchAudit({ type: "action.allowed" });
  assert.ok(event, "the allowed action was audited");
  assert.equal((event.data.decision as { rule_ids: string[] }).rule_ids[0], "r-allow");
});

test("authentication refuses an unknown connection or the wrong protocol", async () => {
  const { gate } = gateWith(decider({}));
  await assert.rejects(
    gate.authenticate("t", "pg-nope", "postgres"),
    /no postgres connection named "pg-nope"/,
  );
  await assert.rejects(gate.authenticate("t", "pg-prod", "mysql"), /no mysql connection named "pg-prod"/);
  assert.equal((await gate.authenticate("t", "pg-prod", "postgres")).connection.name, "pg-prod");
});
