import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decisionEvent } from "../audit/index.ts";
import type { Action, Decision, Facts, SessionContext } from "../core/index.ts";
import { compilePolicyBundle, SettableClock } from "../policy/index.ts";
import type { StoredAuditRecord } from "../store/index.ts";
import {
  formatReplay,
  rebuildAction,
  recordedPolicyEffect,
  replayJson,
  replayRecords,
} from "./policy-replay.ts";

const session: SessionContext = {
  id: "s-1",
  principal: {
    user: "erin@corp.example",
    groups: ["engineers"],
    kind: "agent",
    onBehalfOf: { user: "alice@corp.example", groups: ["analysts"] },
    tokenId: "t-1",
  },
  connection: {
    name: "pg-prod",
    protocol: "postgres",
    labels: { env: "prod" },
    target: { host: "h", port: 1 },
  },
  clientAddress: "127.0.0.1",
};

const sql = (kind: string): Facts => ({
  sql: { parsed: true, dynamic: false, kinds: [kind], statement_kind: kind, tables: ["t"], statements: 1 },
});

let seq = 0;
function record(text: string, kind: string, decision: Partial<Decision>, time = "2024-05-06T10:00:00.000Z") {
  const action: Action = {
    kind: "sql.statement",
    protocol: "postgres",
    text,
    facts: sql(kind),
    principal: session.principal,
    connection: { name: "pg-prod", protocol: "postgres", labels: { env: "prod" } },
    sessionId: session.id,
  };
  const full: Decision = {
    effect: "allow",
    reasonCode: "rule-allowed",
    reason: "",
    ruleIds: [],
    policyVersion: "sha256:old",
    ...decision,
  };
  // Through JSON, as the store returns it.
  const event = JSON.parse(JSON.stringify(decisionEvent(session, action, full, "b-1")));
  return { ...event, time, seq: ++seq } as StoredAuditRecord;
}

const CANDIDATE = `apiVersion: sluice/v1
rules:
  - id: engineers
    match: { groups: [engineers] }
    effect: allow
  - id: no-deletes
    when: '"delete" in sql.kinds'
    effect: deny
    reason: no deletes
  - id: updates-need-dba
    when: '"update" in sql.kinds'
    effect: approve
    approval: { reviewers: [dba] }
  - id: weekend-freeze
    when: time.weekday == 6 && "insert" in sql.kinds
    effect: deny
`;

describe("policy replay", () => {
  it("maps stored reason codes to the policy's own effect", () => {
    assert.equal(recordedPolicyEffect("rule-allowed"), "allow");
    assert.equal(recordedPolicyEffect("batch-denied"), "allow");
    assert.equal(recordedPolicyEffect("no-rule-allowed"), "deny");
    assert.equal(recordedPolicyEffect("policy-error"), "deny");
    assert.equal(recordedPolicyEffect("approval-unavailable"), "approve");
    assert.equal(recordedPolicyEffect("session-setting-guarded"), undefined);
  });

  it("rebuilds the action from the stored principal, connection and facts", () => {
    const action = rebuildAction(record("SELECT 1", "select", {}));
    assert.deepEqual(action, {
      kind: "sql.statement",
      protocol: "postgres",
      text: "SELECT 1",
      facts: sql("select"),
      principal: {
        user: "erin@corp.example",
        groups: ["engineers"],
        kind: "agent",
        onBehalfOf: { user: "alice@corp.example", groups: ["analysts"] },
      },
      connection: { name: "pg-prod", protocol: "postgres", labels: { env: "prod" } },
      sessionId: "s-1",
    });
    const broken = record("x", "select", {});
    assert.equal(rebuildAction({ ...broken, data: { ...broken.data, principal: { user: 1 } } }), undefined);
  });

  it("classifies changes on each statement's own decision, with the recorded time", () => {
    const clock = new SettableClock();
    const bundle = compilePolicyBundle([{ path: "c.yaml", text: CANDIDATE }], { clock: clock.read });
    const records = [
      record("SELECT 1", "select", {}),
      record("DELETE FROM t WHERE id = 1", "delete", { ruleIds: ["engineers"] }),
      record("UPDATE t SET a = 1 WHERE id = 2", "update", {}),
      record("DROP TABLE t", "drop", { effect: "deny", reasonCode: "rule-denied", ruleIds: ["no-drop"] }),
      // Refused only because of another statement: compared as allowed, so unchanged.
      record("SELECT 2", "select", { effect: "deny", reasonCode: "batch-denied", ruleIds: ["engineers"] }),
      record("UPDATE t SET a = 3 WHERE id = 3", "update", {
        effect: "deny",
        reasonCode: "approval-unavailable",
      }),
      record("SET standard_conforming_strings = off", "set", {
        effect: "deny",
        reasonCode: "session-setting-guarded",
      }),
      // Saturday by the record's time: the candidate's freeze applies.
      record("INSERT INTO t VALUES (1)", "insert", {}, "2024-05-04T10:00:00.000Z"),
      record("INSERT INTO t VALUES (2)", "insert", {}, "2024-05-06T10:00:00.000Z"),
    ];
    const report = replayRecords(bundle, clock, records);
    assert.equal(report.records, 9);
    assert.equal(report.newlyDenied.count, 2);
    assert.deepEqual(
      report.newlyDenied.examples.map((e) => e.text),
      ["DELETE FROM t WHERE id = 1", "INSERT INTO t VALUES (1)"],
    );
    assert.deepEqual(report.newlyDenied.examples[0]?.after.ruleIds, ["no-deletes"]);
    assert.equal(report.newlyAllowed.count, 1);
    assert.equal(report.newlyAllowed.examples[0]?.text, "DROP TABLE t");
    assert.equal(report.newlyNeedingApproval.count, 1);
    assert.equal(report.unchanged, 4);
    assert.equal(report.notPolicyDecisions, 1);
    assert.equal(report.unreadable, 0);

    const text = formatReplay(report, "since x");
    assert.match(text, /^newly denied: 2$/m);
    assert.match(text, /^newly allowed: 1$/m);
    assert.match(text, /^newly needing approval: 1$/m);
    assert.match(text, /^unchanged: 4$/m);
    assert.match(text, /batch-denied/);
    const json = replayJson(report) as { newly_denied: { count: number } };
    assert.equal(json.newly_denied.count, 2);
  });

  it("keeps at most five examples and prints statement text safely", () => {
    const clock = new SettableClock();
    const bundle = compilePolicyBundle([{ path: "c.yaml", text: CANDIDATE }], { clock: clock.read });
    const records = Array.from({ length: 7 }, (_, i) =>
      record(`DELETE FROM t WHERE id = ${i};\n\u001b[2J\u009b`, "delete", {}),
    );
    const report = replayRecords(bundle, clock, records);
    assert.equal(report.newlyDenied.count, 7);
    assert.equal(report.newlyDenied.examples.length, 5);
    const text = formatReplay(report, "all");
    assert.match(text, /\.\.\. and 2 more/);
    assert.match(text, /id = 0;\\\\n\\\\x1b\[2J\\\\x9b/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking that none are printed
    assert.doesNotMatch(text, /[\u001b\u009b]/);
  });
});
