import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { configYaml } from "../harness/config-yaml.ts";
import { lastLine, sluice } from "../harness/sluice-cli.ts";

const POLICY = `apiVersion: sluice/v1
rules:
  - id: analysts-read
    match: { protocols: [postgres], groups: [analysts] }
    when: sql.parsed && !sql.dynamic && size(sql.writes) == 0
    effect: allow
  - id: engineers-write
    match: { protocols: [postgres], groups: [engineers] }
    when: sql.parsed && !sql.dynamic
    effect: allow
  - id: no-drop-in-prod
    match: { connections: { labels: { env: prod } } }
    when: '"drop" in sql.kinds || "truncate" in sql.kinds'
    effect: deny
    reason: DROP and TRUNCATE are not allowed on {{connection.name}}
  - id: deletes-need-dba
    match: { connections: { labels: { env: prod } }, groups: [engineers] }
    when: '"delete" in sql.kinds'
    effect: approve
    approval: { reviewers: [dba] }
  - id: weekend-freeze
    mode: shadow
    match: { connections: { labels: { env: prod } } }
    when: time.weekday == 0 || time.weekday == 6
    effect: deny
`;

const PASSING = `# policies/prod.test.yaml
connections:
  - { name: pg-prod, protocol: postgres, labels: { env: prod } }
tests:
  - name: analysts may read
    given: { user: alice@corp.example, groups: [analysts], connection: pg-prod, command: "SELECT id FROM orders" }
    expect: { effect: allow }
  - name: nobody drops tables in prod
    given: { user: bob@corp.example, groups: [engineers], connection: pg-prod, command: "drop/**/table orders" }
    expect: { effect: deny, rules: [no-drop-in-prod] }
  - name: a batch with a truncate runs none of it
    given: { user: bob@corp.example, groups: [engineers], connection: pg-prod, command: "INSERT INTO orders VALUES (1); TRUNCATE orders" }
    expect: { effect: deny, rules: [no-drop-in-prod], reason: not allowed on pg-prod }
  - name: deletes need a DBA
    given: { user: bob@corp.example, groups: [engineers], connection: pg-prod, command: "DELETE FROM orders WHERE id = 1" }
    expect: { effect: approve, rules: [deletes-need-dba], approvers: [dba] }
`;

describe("sluice policy check | test | explain (child processes)", () => {
  let dir: string;
  const path = (...parts: string[]) => join(dir, ...parts);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sluice-policy-cli-"));
    for (const name of ["good", "bad", "failing", "broken-tests", "empty"]) mkdirSync(path(name));
    writeFileSync(path("good", "prod.yaml"), POLICY);
    writeFileSync(path("good", "prod.test.yaml"), PASSING);

    writeFileSync(
      path("bad", "prod.yaml"),
      `apiVersion: sluice/v1
rules:
  - id: typo
    when: '"drop" in sql.kindz'
    effect: deny
  - id: no-approval
    effect: approve
`,
    );

    writeFileSync(path("failing", "prod.yaml"), POLICY);
    writeFileSync(path("failing", "a.test.yaml"), PASSING);
    writeFileSync(
      path("failing", "b.test.yaml"),
      `connections:
  - { name: pg-prod, protocol: postgres, labels: { env: prod } }
tests:
  - name: analysts may drop (wrong on purpose)
    given: { user: alice@corp.example, groups: [analysts], connection: pg-prod, command: "DROP TABLE orders" }
    expect: { effect: allow, rules: [analysts-read] }
`,
    );

    writeFileSync(path("broken-tests", "prod.yaml"), POLICY);
    writeFileSync(
      path("broken-tests", "x.test.yaml"),
      `connections:
  - { name: pg-prod, protocol: postgres }
tests:
  - name: typo in given
    given: { user: a, connection: pg-prod, command: "SELECT 1", grups: [x] }
    expect: { effect: deny }
  - name: unknown connection
    given: { user: a, connection: pg-staging, command: "SELECT 1" }
    expect: { effect: deny }
`,
    );
    writeFileSync(path("broken-tests", "y.test.yaml"), "tests: [unclosed\n");
    writeFileSync(path("empty", "prod.yaml"), POLICY);

    writeFileSync(path("app-password"), "x\n");
    writeFileSync(
      path("sluice.yaml"),
      configYaml({
        policies: "./good",
        connections: [{ name: "pg-prod", env: "prod", port: 5432, passwordFile: "./app-password" }],
      }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("check: a clean bundle exits 0 with a one-line summary", async () => {
    const r = await sluice(["policy", "check", path("good")]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ok: 5 rules in 1 file, bundle sha256:[0-9a-f]{64}\n$/);
  });

  test("check: errors name file, line, column and rule id, and exit 1", async () => {
    const r = await sluice(["policy", "check", path("bad")]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.deepEqual(lines, [
      `${path("bad", "prod.yaml")}:4:26: rule typo: unknown field sql.kindz (did you mean sql.kinds?)`,
      `${path("bad", "prod.yaml")}:7:13: rule no-approval: effect approve needs an approval block`,
      "2 problems: the policy bundle is invalid",
    ]);
  });

  test("test: a passing file exits 0 and ends with the counts alone on the last line", async () => {
    const r = await sluice(["policy", "test", path("good")]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(lastLine(r.stdout), "4 passed, 0 failed");
    assert.match(r.stdout, /^ {2}ok {4}nobody drops tables in prod$/m);
  });

  test("test: a failing test names itself, its file:line, expected vs actual and the deciding rules", async () => {
    const r = await sluice(["policy", "test", path("failing")]);
    assert.equal(r.code, 1);
    assert.equal(lastLine(r.stdout), "4 passed, 1 failed");
    const failing = `${path("failing", "b.test.yaml")}:4`;
    assert.ok(r.stdout.includes(`FAIL  analysts may drop (wrong on purpose) (${failing})`), r.stdout);
    assert.match(r.stdout, /effect: +expected allow, actual deny/);
    assert.match(r.stdout, /rules: +expected \[analysts-read\], actual \[no-drop-in-prod\]/);
    assert.match(
      r.stdout,
      /decision: deny \(rule-denied\) by \[no-drop-in-prod\]: DROP and TRUNCATE are not allowed on pg-prod/,
    );
  });

  test("test: test-file errors are reported with file:line and count as failures", async () => {
    const r = await sluice(["policy", "test", path("broken-tests")]);
    assert.equal(r.code, 1);
    assert.equal(lastLine(r.stdout), "0 passed, 3 failed");
    assert.ok(r.stdout.includes(`${path("broken-tests", "x.test.yaml")}:5:65: unknown field given.grups`));
    assert.ok(
      r.stdout.includes(
        `${path("broken-tests", "x.test.yaml")}:8:35: unknown connection pg-staging (known: pg-prod)`,
      ),
    );
    assert.match(r.stdout, /FAIL {2}\(test file\) \(.*y\.test\.yaml:2\)/);
  });

  test("test: --coverage lists the rules no test exercised", async () => {
    const r = await sluice(["policy", "test", path("good"), "--coverage"]);
    assert.equal(r.code, 0);
    assert.equal(lastLine(r.stdout), "4 passed, 0 failed");
    assert.match(r.stdout, /^coverage: 4 of 5 rules exercised$/m);
    assert.ok(r.stdout.includes(`  not exercised: weekend-freeze (${path("good", "prod.yaml")}:21:5)`));
    assert.doesNotMatch(r.stdout, /not exercised: (analysts-read|engineers-write|no-drop-in-prod|deletes)/);
  });

  test("test: a shadow rule that applies counts as exercised", async () => {
    writeFileSync(
      path("good", "weekend.test.yaml"),
      `connections: [{ name: pg-prod, protocol: postgres, labels: { env: prod } }]
tests:
  - name: saturday reads are allowed (the freeze is only shadowed)
    given: { user: a, groups: [analysts], connection: pg-prod, command: "SELECT 1", time: "2024-05-04T10:00:00Z" }
    expect: { effect: allow, rules: [analysts-read] }
`,
    );
    try {
      const r = await sluice(["policy", "test", path("good"), "--coverage"]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^coverage: 5 of 5 rules exercised$/m);
      assert.equal(lastLine(r.stdout), "5 passed, 0 failed");
    } finally {
      rmSync(path("good", "weekend.test.yaml"));
    }
  });

  test("test: no test files is a failure; an invalid bundle reports its diagnostics", async () => {
    const empty = await sluice(["policy", "test", path("empty")]);
    assert.equal(empty.code, 1);
    assert.match(empty.stdout, /no \*\.test\.yaml files under/);
    assert.equal(lastLine(empty.stdout), "0 passed, 0 failed");
    const bad = await sluice(["policy", "test", path("bad")]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /rule typo: unknown field sql\.kindz/);
  });

  test("the example policies pass their own tests", async () => {
    const r = await sluice(["policy", "test", "examples/policies", "--coverage"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(lastLine(r.stdout), /^\d+ passed, 0 failed$/);
  });

  test("explain: facts, every rule with why not / condition, and the decision", async () => {
    const r = await sluice([
      "policy",
      "explain",
      path("good"),
      "--user",
      "alice@corp.example",
      "--groups",
      "analysts",
      "--connection",
      "pg-prod",
      "--labels",
      "env=prod",
      "--time",
      "2024-05-06T10:00:00Z",
      "--",
      "DELETE FROM orders WHERE id = 1",
    ]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    const out = r.stdout;
    assert.match(out, /^principal {2}alice@corp\.example \(human\), groups \[analysts\]$/m);
    assert.match(out, /^connection pg-prod \(postgres\), labels \[env=prod\]$/m);
    assert.match(out, /"kinds": \["delete"\]/);
    assert.match(out, /"weekday":1/);
    assert.match(out, /^ {3}analysts-read +allow +matched; when is false/m);
    assert.match(
      out,
      /^ {3}engineers-write +allow +not matched: principal is in none of the groups \[engineers\]/m,
    );
    assert.match(out, /^ {3}weekend-freeze +deny +matched; when is false \[shadow\]/m);
    assert.match(out, /^decision: deny \(no-rule-allowed\) by \[\]: no policy rule allows this action$/m);
  });

  test("explain --json, with the connection's labels taken from -c", async () => {
    const r = await sluice([
      "policy",
      "explain",
      path("good"),
      "-c",
      path("sluice.yaml"),
      "--user",
      "bob@corp.example",
      "--groups",
      "engineers",
      "--connection",
      "pg-prod",
      "--json",
      "--",
      "SELECT 1; TRUNCATE orders",
    ]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    const json = JSON.parse(r.stdout);
    assert.equal(json.statements.length, 2);
    assert.deepEqual(json.statements[1].facts.connection, {
      name: "pg-prod",
      protocol: "postgres",
      labels: { env: "prod" },
    });
    assert.equal(json.statements[0].decision.effect, "allow");
    const drop = json.statements[1].rules.find((rule: { id: string }) => rule.id === "no-drop-in-prod");
    assert.deepEqual(
      { matched: drop.matched, condition: drop.condition, applied: drop.applied, deciding: drop.deciding },
      { matched: true, condition: "true", applied: true, deciding: true },
    );
    assert.deepEqual(json.decision.rule_ids, ["no-drop-in-prod"]);
    assert.equal(json.decision.effect, "deny");
    assert.equal(json.decision.reason, "DROP and TRUNCATE are not allowed on pg-prod");
  });
});
