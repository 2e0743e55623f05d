import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type GatewayFixture, startGatewayFixture, TEST_POLICY } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";
import { sluice } from "../harness/sluice-cli.ts";

/**
 * The candidate: DELETE is now denied, and DROP (denied by the recorded policy) is no longer
 * covered by no-drop-in-prod, so engineers-write allows it.
 */
const CANDIDATE = `${TEST_POLICY.replace(
  `when: '"drop" in sql.kinds || "truncate" in sql.kinds'`,
  `when: '"truncate" in sql.kinds'`,
)}  - id: no-deletes
    match: { connections: { labels: { env: prod } } }
    when: '"delete" in sql.kinds'
    effect: deny
    reason: deletes go through the back office
`;

describe("sluice policy replay against a recorded audit trail", () => {
  let f: GatewayFixture;
  let candidate: string;

  before(async () => {
    assert.notEqual(CANDIDATE.indexOf(`when: '"truncate" in sql.kinds'\n`), -1);
    f = await startGatewayFixture();
    const app = await f.app();
    await app.query("CREATE TABLE orders (id int PRIMARY KEY, note text)");
    await app.query("INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 5) g");
    await app.end();
    const engineer = await f.token("erin@corp.example", ["engineers"]);
    const analyst = await f.token("alice@corp.example", ["analysts"]);
    const run = async (token: string, sql: string, code: number) => {
      const r = await psql(f.conninfo(), token, ["-c", sql]);
      assert.equal(r.code, code, `${sql}: ${r.stderr}`);
    };
    await run(analyst, "SELECT count(*) FROM orders", 0); // allowed, stays allowed
    await run(engineer, "DELETE FROM orders WHERE id = 1", 0); // allowed, newly denied
    await run(engineer, "DROP TABLE orders", 1); // denied, newly allowed
    // INSERT is refused only because of the TRUNCATE (batch-denied): both stay as they were.
    await run(engineer, "INSERT INTO orders VALUES (100, 'x'); TRUNCATE orders", 1);
    // Refused by the protocol guard, not by policy: not replayed.
    await run(engineer, "SET standard_conforming_strings = off", 1);

    candidate = mkdtempSync(join(tmpdir(), "sluice-candidate-"));
    mkdirSync(join(candidate, "policies"));
    writeFileSync(join(candidate, "policies", "test.yaml"), CANDIDATE);
  });
  after(async () => {
    await f.stop();
    rmSync(candidate, { recursive: true, force: true });
  });

  test("counts what would change, compared on each statement's own decision", async () => {
    const r = await sluice([
      "policy",
      "replay",
      join(candidate, "policies"),
      "-c",
      f.configPath,
      "--since",
      "1h",
      "--json",
    ]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    const report = JSON.parse(r.stdout);
    assert.equal(report.records, 6);
    assert.equal(report.newly_denied.count, 1);
    assert.equal(report.newly_denied.examples[0].text, "DELETE FROM orders WHERE id = 1");
    assert.deepEqual(report.newly_denied.examples[0].after.rule_ids, ["no-deletes"]);
    assert.equal(report.newly_denied.examples[0].user, "erin@corp.example");
    assert.equal(report.newly_allowed.count, 1);
    assert.equal(report.newly_allowed.examples[0].text, "DROP TABLE orders");
    assert.deepEqual(report.newly_allowed.examples[0].before.rule_ids, ["no-drop-in-prod"]);
    assert.equal(report.newly_needing_approval.count, 0);
    assert.equal(report.unchanged, 3);
    assert.equal(report.skipped_not_policy, 1);
  });

  test("prints counts, examples with time, user, connection and text, and the legend", async () => {
    const r = await sluice(["policy", "replay", join(candidate, "policies"), "-c", f.configPath]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^newly denied: 1$/m);
    assert.match(
      r.stdout,
      /^ {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}erin@corp\.example {2}pg-prod {2}"DELETE FROM orders WHERE id = 1"$/m,
    );
    assert.match(r.stdout, /now deny \(rule-denied\) \[no-deletes\]: deletes go through the back office/);
    assert.match(r.stdout, /^newly allowed: 1$/m);
    assert.match(r.stdout, /^newly needing approval: 0$/m);
    assert.match(r.stdout, /^unchanged: 3$/m);
    assert.match(r.stdout, /batch-denied/);
  });

  test("--limit replays only the most recent actions; the recorded policy itself changes nothing", async () => {
    const limited = await sluice([
      "policy",
      "replay",
      join(candidate, "policies"),
      "-c",
      f.configPath,
      "--limit",
      "2",
      "--json",
    ]);
    const report = JSON.parse(limited.stdout);
    assert.equal(report.records, 2);
    assert.equal(report.skipped_not_policy, 1);

    const same = await sluice(["policy", "replay", join(f.dir, "policies"), "-c", f.configPath, "--json"]);
    const unchanged = JSON.parse(same.stdout);
    assert.equal(unchanged.unchanged, 5);
    assert.equal(unchanged.newly_denied.count + unchanged.newly_allowed.count, 0);
  });
});
