import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDiagnostic } from "./errors.ts";
import { parsePolicyTestFile } from "./policy-test-file.ts";

const CONNECTIONS = `connections:
  - { name: pg-prod, protocol: postgres, labels: { env: prod } }
  - name: pg-dev
    protocol: postgres
`;

describe("parsePolicyTestFile", () => {
  it("reads connections and tests with their positions and defaults", () => {
    const parsed = parsePolicyTestFile(
      "p/prod.test.yaml",
      `${CONNECTIONS}tests:
  - name: analysts may read
    given: { user: alice@corp.example, groups: [analysts], connection: pg-prod, command: "SELECT 1" }
    expect: { effect: allow }
  - name: agent with everything
    given:
      user: bot@corp.example
      kind: agent
      on_behalf_of: { user: alice@corp.example, groups: [analysts] }
      connection: pg-dev
      command: DELETE FROM t WHERE id = 1
      time: "2024-05-04T10:00:00+02:00"
    expect:
      effect: approve
      reason: needs
      rules: [a, b]
      masks: [m]
      approvers: [dba]
`,
    );
    assert.deepEqual(parsed.diagnostics, []);
    assert.deepEqual(parsed.broken, []);
    const [first, second] = parsed.tests;
    assert.ok(first !== undefined && second !== undefined);
    assert.equal(first.name, "analysts may read");
    assert.equal(first.line, 6);
    assert.equal(first.column, 5);
    assert.deepEqual(first.given, {
      user: "alice@corp.example",
      groups: ["analysts"],
      kind: "human",
      connection: { name: "pg-prod", protocol: "postgres", labels: { env: "prod" } },
      command: "SELECT 1",
    });
    assert.deepEqual(first.expect, { effect: "allow" });
    assert.equal(second.given.kind, "agent");
    assert.deepEqual(second.given.groups, []);
    assert.deepEqual(second.given.onBehalfOf, { user: "alice@corp.example", groups: ["analysts"] });
    assert.deepEqual(second.given.connection.labels, {});
    assert.equal(second.given.time?.toISOString(), "2024-05-04T08:00:00.000Z");
    assert.deepEqual(second.expect, {
      effect: "approve",
      reason: "needs",
      rules: ["a", "b"],
      masks: ["m"],
      approvers: ["dba"],
    });
  });

  it("reports YAML errors with file and line, as file problems", () => {
    const parsed = parsePolicyTestFile("t.test.yaml", "tests:\n  - name: [unclosed\n");
    assert.equal(parsed.tests.length, 0);
    assert.ok(parsed.diagnostics.length > 0);
    assert.match(formatDiagnostic(parsed.diagnostics[0]!), /^t\.test\.yaml:\d+:\d+: YAML: /);
  });

  it("reports unknown keys at the key, and keeps the other tests", () => {
    const parsed = parsePolicyTestFile(
      "t.test.yaml",
      `${CONNECTIONS}tests:
  - name: typo
    given: { user: a, connection: pg-prod, command: "SELECT 1", grups: [x] }
    expect: { effect: allow, rule: [r] }
  - name: fine
    given: { user: a, connection: pg-prod, command: "SELECT 1" }
    expect: { effect: deny }
`,
    );
    assert.deepEqual(
      parsed.tests.map((t) => t.name),
      ["fine"],
    );
    assert.equal(parsed.broken.length, 1);
    const broken = parsed.broken[0]!;
    assert.equal(broken.name, "typo");
    assert.equal(broken.line, 6);
    assert.deepEqual(broken.diagnostics.map(formatDiagnostic).sort(), [
      "t.test.yaml:7:65: unknown field given.grups",
      "t.test.yaml:8:30: unknown field expect.rule",
    ]);
  });

  it("reports unknown connections, missing fields, bad enums and bad times per test", () => {
    const parsed = parsePolicyTestFile(
      "t.test.yaml",
      `${CONNECTIONS}tests:
  - name: unknown connection
    given: { user: a, connection: pg-nope, command: "SELECT 1" }
    expect: { effect: allow }
  - name: no expect
    given: { user: a, connection: pg-prod, command: "SELECT 1" }
  - given: { user: a, connection: pg-prod, command: "SELECT 1", kind: robot, time: "2024-05-04 10:00" }
    expect: { effect: maybe }
`,
    );
    assert.equal(parsed.tests.length, 0);
    const messages = parsed.broken.map((b) => `${b.name}: ${b.diagnostics.map((d) => d.message).join("; ")}`);
    assert.deepEqual(messages, [
      "unknown connection: unknown connection pg-nope (known: pg-prod, pg-dev)",
      "no expect: missing required field expect",
      `tests[2]: missing required field name; given.kind: must be one of human, service, agent; given.time: must be an ISO timestamp with a zone, e.g. "2024-05-06T10:30:00Z"; expect.effect: must be one of allow, deny, approve`,
    ]);
    assert.equal(parsed.broken[0]?.diagnostics[0]?.line, 7);
  });

  it("reports bad connections and unknown top-level keys as file problems", () => {
    const parsed = parsePolicyTestFile(
      "t.test.yaml",
      `connections:
  - { name: pg-prod, protocol: postgres, labels: { env: 1 } }
  - { name: pg-prod, protocol: postgres }
test: []
`,
    );
    assert.deepEqual(parsed.diagnostics.map(formatDiagnostic), [
      "t.test.yaml:4:1: unknown field test",
      "t.test.yaml:2:57: connections[0]: labels.env: expected string",
      "t.test.yaml:3:13: duplicate connection name pg-prod",
    ]);
    assert.deepEqual(parsePolicyTestFile("t.test.yaml", "- a\n").diagnostics.map(formatDiagnostic), [
      "t.test.yaml:1:1: a policy test file is a mapping with connections and tests",
    ]);
  });
});
