import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { AnalysedCommand, CommandAnalyser } from "../core/index.ts";
import { compilePolicyBundle } from "./compile.ts";
import { PolicyError } from "./errors.ts";
import { parsePolicyTestFile } from "./policy-test-file.ts";
import {
  combineDecisions,
  evaluatePolicyTests,
  runPolicyTests,
  SettableClock,
  type StatementOutcome,
} from "./policy-test-runner.ts";
import { sqlAction, sqlFacts } from "./test-support.ts";

/** Statements split on `;`; the kind is the first word. Enough to exercise the runner. */
const fakeAnalyser: CommandAnalyser = {
  protocol: "postgres",
  analyse(text: string): readonly AnalysedCommand[] {
    return text
      .split(";")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((statement) => {
        const kind = statement.split(/\s+/)[0]!.toLowerCase();
        return {
          kind: "sql.statement",
          text: statement,
          facts: { sql: sqlFacts({ kinds: [kind], statement_kind: kind, tables: ["public.customers"] }) },
        };
      });
  },
};

const POLICY = `apiVersion: sluice/v1
rules:
  - id: read
    match: { groups: [analysts] }
    when: '"select" in sql.kinds'
    effect: allow
  - id: write
    match: { groups: [engineers] }
    effect: allow
  - id: no-drop
    match: { connections: { labels: { env: prod } } }
    when: '"drop" in sql.kinds'
    effect: deny
    reason: no drops on {{connection.name}}
  - id: deletes-need-dba
    match: { groups: [engineers] }
    when: '"delete" in sql.kinds'
    effect: approve
    approval: { reviewers: [dba, security] }
  - id: mask-customers
    when: '"public.customers" in sql.tables'
    effect: mask
    mask: { columns: [customers.email] }
  - id: weekend-freeze
    mode: shadow
    when: time.weekday == 6
    effect: deny
  - id: never-applies
    match: { users: [nobody] }
    effect: deny
`;

const TESTS = `connections:
  - { name: pg-prod, protocol: postgres, labels: { env: prod } }
  - { name: k8s-prod, protocol: kubernetes }
tests:
  - name: analysts read
    given: { user: a, groups: [analysts], connection: pg-prod, command: "SELECT 1" }
    expect: { effect: allow, rules: [read], masks: [mask-customers] }
  - name: drops denied
    given: { user: b, groups: [engineers], connection: pg-prod, command: "DROP TABLE t" }
    expect: { effect: deny, rules: [no-drop], reason: "no drops on pg-prod" }
  - name: batch with a drop is denied as a whole
    given: { user: b, groups: [engineers], connection: pg-prod, command: "INSERT x; DROP TABLE t" }
    expect: { effect: deny, rules: [no-drop] }
  - name: deletes need approval
    given: { user: b, groups: [engineers], connection: pg-prod, command: "DELETE x" }
    expect: { effect: approve, rules: [deletes-need-dba], approvers: [security, dba] }
  - name: saturday
    given: { user: a, groups: [analysts], connection: pg-prod, command: "SELECT 1", time: "2024-05-04T12:00:00Z" }
    expect: { effect: allow }
  - name: wrong expectation
    given: { user: a, groups: [analysts], connection: pg-prod, command: "SELECT 1; UPDATE t" }
    expect: { effect: allow, rules: [write], reason: "yes" }
  - name: no analyser
    given: { user: a, connection: k8s-prod, command: "get pods" }
    expect: { effect: deny }
  - name: empty command
    given: { user: a, connection: pg-prod, command: " ; " }
    expect: { effect: deny }
  - name: broken
    given: { user: a, connection: pg-nope, command: "SELECT 1" }
    expect: { effect: deny }
`;

function run(tests = TESTS, policy = POLICY) {
  const clock = new SettableClock();
  const bundle = compilePolicyBundle([{ path: "p.yaml", text: policy }], { clock: clock.read });
  const file = parsePolicyTestFile("p.test.yaml", tests);
  return evaluatePolicyTests(bundle, [file], { analysers: [fakeAnalyser], clock });
}

describe("evaluatePolicyTests", () => {
  const report = run();
  const result = (name: string) => {
    const found = report.results.find((r) => r.name === name);
    assert.ok(found, name);
    return found;
  };

  it("passes tests whose expectations hold, with exact rule, mask and approver sets", () => {
    for (const name of ["analysts read", "drops denied", "deletes need approval", "saturday"]) {
      assert.equal(result(name).passed, true, name);
    }
    assert.deepEqual(result("deletes need approval").outcome?.approvers, ["dba", "security"]);
  });

  it("judges a multi-statement command as the gateway judges a batch", () => {
    const batch = result("batch with a drop is denied as a whole");
    assert.equal(batch.passed, true);
    assert.deepEqual(
      batch.outcome?.statements.map((s) => s.decision.effect),
      ["allow", "deny"],
    );
  });

  it("reports every mismatching field with expected and actual", () => {
    const wrong = result("wrong expectation");
    assert.equal(wrong.passed, false);
    assert.deepEqual(wrong.mismatches, [
      { field: "effect", expected: "allow", actual: "deny" },
      { field: "reason", expected: 'contains "yes"', actual: '"no policy rule allows this action"' },
      { field: "rules", expected: "[write]", actual: "[]" },
    ]);
    assert.equal(wrong.line, 20);
    assert.equal(wrong.file, "p.test.yaml");
  });

  it("counts tests that cannot run as failures, with a reason", () => {
    assert.match(result("no analyser").diagnostics[0]?.message ?? "", /no analyser for protocol kubernetes/);
    assert.equal(result("empty command").diagnostics[0]?.message, "the command has no statements");
    assert.match(result("broken").diagnostics[0]?.message ?? "", /unknown connection pg-nope/);
    assert.deepEqual(
      report.results.map((r) => r.name),
      [
        "analysts read",
        "drops denied",
        "batch with a drop is denied as a whole",
        "deletes need approval",
        "saturday",
        "wrong expectation",
        "no analyser",
        "empty command",
        "broken",
      ],
    );
    assert.equal(report.passed, 5);
    assert.equal(report.failed, 4);
  });

  it("tracks coverage: rules that applied, shadow and mask rules included", () => {
    assert.deepEqual(
      report.unexercised.map((r) => r.id),
      ["never-applies"],
    );
    assert.ok(report.exercised.has("weekend-freeze"));
    assert.ok(report.exercised.has("mask-customers"));
  });

  it("uses given.time for time facts and the current time otherwise", () => {
    const shadow = (name: string) => result(name).outcome?.shadowRuleIds;
    assert.deepEqual(shadow("saturday"), ["weekend-freeze"]);
    const weekday = run(`connections: [{ name: c, protocol: postgres }]
tests:
  - name: monday
    given: { user: a, groups: [analysts], connection: c, command: "SELECT 1", time: "2024-05-06T12:00:00Z" }
    expect: { effect: allow }
`);
    assert.deepEqual(weekday.results[0]?.outcome?.shadowRuleIds, []);
    assert.equal(weekday.exercised.has("weekend-freeze"), false);
  });

  it("reports a broken file as one failure", () => {
    const broken = run("tests: [unclosed\n");
    assert.equal(broken.failed, 1);
    assert.equal(broken.results[0]?.name, "(test file)");
    assert.match(broken.results[0]?.diagnostics[0]?.message ?? "", /^YAML: /);
  });
});

describe("combineDecisions", () => {
  const outcome = (
    effect: "allow" | "deny" | "approve",
    ruleIds: string[],
    extra = {},
  ): StatementOutcome => ({
    kind: "sql.statement",
    text: "x",
    action: sqlAction(),
    decision: {
      effect,
      reasonCode: `r-${effect}`,
      reason: `${effect} ${ruleIds}`,
      ruleIds,
      policyVersion: "v",
      ...extra,
    },
  });

  it("any deny wins, with the denying statements' rules and the first denial's reason", () => {
    const combined = combineDecisions([
      outcome("allow", ["a"]),
      outcome("deny", ["d1"]),
      outcome("approve", ["p"]),
      outcome("deny", ["d2", "d1"]),
    ]);
    assert.equal(combined.effect, "deny");
    assert.deepEqual(combined.ruleIds, ["d1", "d2"]);
    assert.equal(combined.reason, "deny d1");
  });

  it("else approve with every reviewer, else allow with every allowing rule; masks from all", () => {
    const approval = { reviewers: ["dba"], minApprovals: 1, ttlSeconds: 60 };
    const masks = [{ ruleId: "m", columns: ["t.c"], detectors: [], strategy: "redact" as const }];
    const approve = combineDecisions([
      outcome("allow", ["a"], { masks }),
      outcome("approve", ["p"], { approval }),
      outcome("approve", ["q"], { approval: { ...approval, reviewers: ["sec", "dba"] } }),
    ]);
    assert.equal(approve.effect, "approve");
    assert.deepEqual(approve.ruleIds, ["p", "q"]);
    assert.deepEqual(approve.approvers, ["dba", "sec"]);
    assert.deepEqual(approve.masks, ["m"]);
    const allow = combineDecisions([outcome("allow", ["a"]), outcome("allow", ["b", "a"])]);
    assert.equal(allow.effect, "allow");
    assert.deepEqual(allow.ruleIds, ["a", "b"]);
    assert.equal(combineDecisions([]).effect, "deny");
  });
});

describe("runPolicyTests", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-policy-tests-"));
    await writeFile(join(dir, "p.yaml"), POLICY);
    await writeFile(
      join(dir, "p.test.yml"),
      `connections: [{ name: pg-prod, protocol: postgres, labels: { env: prod } }]
tests:
  - name: drops denied
    given: { user: b, groups: [engineers], connection: pg-prod, command: "DROP TABLE t" }
    expect: { effect: deny, rules: [no-drop] }
`,
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("loads the bundle and every test file under the directory", async () => {
    const report = await runPolicyTests(dir, { analysers: [fakeAnalyser] });
    assert.deepEqual(report.files, [`${dir}/p.test.yml`]);
    assert.equal(report.passed, 1);
    assert.equal(report.failed, 0);
  });

  it("throws PolicyError when the bundle is invalid", async () => {
    await writeFile(
      join(dir, "bad.yaml"),
      "apiVersion: sluice/v1\nrules:\n  - id: x\n    effect: allow\n    when: sql.kindz\n",
    );
    await assert.rejects(runPolicyTests(dir, { analysers: [fakeAnalyser] }), PolicyError);
    await rm(join(dir, "bad.yaml"));
  });
});
