import assert from "node:assert/strict";
import { test } from "node:test";
import type { Action, Decision, SessionContext } from "../core/index.ts";
import { decisionEvent, eventId } from "./audit-event.ts";

const session: SessionContext = {
  id: "s-1",
  principal: {
    user: "alice@corp.example",
    groups: ["analysts"],
    kind: "agent",
    onBehalfOf: { user: "bob@corp.example", groups: ["eng"] },
  },
  connection: {
    name: "pg-prod",
    protocol: "postgres",
    labels: { env: "prod" },
    target: { host: "h", port: 1, password: "never" },
  },
  clientAddress: "127.0.0.1",
};
const facts = Object.freeze({
  sql: Object.freeze({ kinds: ["select"], tables: ["t"], prepared_name: null }),
});
const action: Action = {
  kind: "sql.statement",
  protocol: "postgres",
  text: 'SELECT "x\n" -- \u001b[2J',
  facts,
  principal: session.principal,
  connection: { name: "pg-prod", protocol: "postgres", labels: { env: "prod" } },
  sessionId: "s-1",
};
const decision: Decision = {
  effect: "deny",
  reasonCode: "rule-denied",
  reason: "no",
  ruleIds: ["r1"],
  policyVersion: "sha256:abc",
  shadowRuleIds: ["s1"],
};

test("the pre-serialised event data is exactly the documented event shape", () => {
  const record = decisionEvent(session, action, decision, "b-1");
  assert.deepEqual(JSON.parse(record.dataJson ?? "null"), {
    principal: {
      user: "alice@corp.example",
      groups: ["analysts"],
      kind: "agent",
      on_behalf_of: { user: "bob@corp.example", groups: ["eng"] },
    },
    connection: { name: "pg-prod", protocol: "postgres", labels: { env: "prod" } },
    action: {
      kind: "sql.statement",
      protocol: "postgres",
      text: 'SELECT "x\n" -- \u001b[2J',
      facts: { sql: { kinds: ["select"], tables: ["t"], prepared_name: null } },
    },
    decision: {
      effect: "deny",
      reason_code: "rule-denied",
      reason: "no",
      rule_ids: ["r1"],
      policy_version: "sha256:abc",
      shadow_rule_ids: ["s1"],
    },
    batch_id: "b-1",
  });
  assert.equal(record.type, "action.denied");
  assert.ok(!record.dataJson?.includes("never"), "backend secrets never reach the audit trail");
  // Cached fragments are reused, not stale: a second event for the same session and facts matches.
  assert.equal(decisionEvent(session, action, decision, "b-1").dataJson, record.dataJson);
});

test("event ids are unique", () => {
  const ids = new Set(Array.from({ length: 10_000 }, () => eventId()));
  assert.equal(ids.size, 10_000);
});
