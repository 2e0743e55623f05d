/**
 * The example policies (examples/policies/, used by `npm start`) decide real SQL through the
 * real analyser as their comments promise.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Action, ConnectionInfo, Principal } from "../core/index.ts";
import { loadPolicyBundle, type PolicyBundle, type PolicyDecision } from "../policy/index.ts";
import { loadSqlParser, PostgresAnalyser } from "../protocols/postgres/index.ts";

const POLICY_DIR = fileURLToPath(new URL("../../examples/policies", import.meta.url));

const prod: ConnectionInfo = { name: "pg-demo", protocol: "postgres", labels: { env: "prod" } };
const dev: ConnectionInfo = { name: "pg-dev", protocol: "postgres", labels: { env: "dev" } };

const person = (user: string, ...groups: string[]): Principal => ({ user, groups, kind: "human" });
const alice = person("alice@corp.example", "analysts");
const bob = person("bob@corp.example", "engineers");
const carol = person("carol@corp.example", "engineers", "oncall");
const mallory = person("mallory@corp.example", "contractors");

describe("example policies", () => {
  let bundle: PolicyBundle;
  let analyser: PostgresAnalyser;

  before(async () => {
    await loadSqlParser();
    analyser = new PostgresAnalyser();
    bundle = await loadPolicyBundle(POLICY_DIR);
  });

  /** Decides a single statement as the gateway would. */
  function decide(text: string, principal: Principal, connection: ConnectionInfo = prod): PolicyDecision {
    const commands = analyser.analyse(text);
    assert.equal(commands.length, 1, `expected one statement in ${text}`);
    const command = commands[0]!;
    const action: Action = {
      kind: command.kind,
      protocol: "postgres",
      text: command.text,
      facts: command.facts,
      principal,
      connection,
      sessionId: "session-1",
    };
    return bundle.decide(action);
  }

  function assertAllowed(decision: PolicyDecision, ruleId: string): void {
    assert.equal(decision.effect, "allow", decision.reason);
    assert.ok(decision.ruleIds.includes(ruleId), `allowed by ${decision.ruleIds.join(", ")}, not ${ruleId}`);
  }

  function assertDenied(decision: PolicyDecision, ruleId: string | undefined, reason?: RegExp): void {
    assert.equal(decision.effect, "deny", `expected a denial, got ${decision.effect}: ${decision.reason}`);
    if (ruleId === undefined) assert.equal(decision.reasonCode, "no-rule-allowed");
    else assert.equal(decision.ruleIds[0], ruleId, decision.reason);
    if (reason) assert.match(decision.reason, reason);
  }

  test("the bundle loads with its three guard rails and three team rules", () => {
    assert.match(bundle.version, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(
      bundle.rules.map((r) => r.id),
      [
        "no-drop-in-prod",
        "no-opaque-sql-in-prod",
        "no-unfiltered-writes-in-prod",
        "analysts-read-only",
        "engineers-read-write",
        "oncall-broad",
      ],
    );
    assert.ok(bundle.rules.every((r) => r.effect === "allow" || r.effect === "deny"));
  });

  test("analysts read, and only read", () => {
    assertAllowed(decide("SELECT id, name FROM customers", alice), "analysts-read-only");
    assertAllowed(
      decide(
        "SELECT c.name, sum(o.amount) FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY 1",
        alice,
      ),
      "analysts-read-only",
    );
    assertAllowed(
      decide("EXPLAIN SELECT * FROM orders WHERE status = 'pending'", alice),
      "analysts-read-only",
    );
    assertAllowed(decide("BEGIN", alice), "analysts-read-only");
    assertDenied(decide("DELETE FROM orders WHERE id = 108", alice), undefined);
    assertDenied(decide("INSERT INTO orders (id) VALUES (1)", alice), undefined);
    assertDenied(
      decide("WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d", alice),
      undefined,
    );
    assertDenied(decide("EXPLAIN ANALYZE DELETE FROM orders WHERE id = 1", alice), undefined);
    assertDenied(decide("SELECT nextval('orders_id_seq')", alice), undefined);
    assertDenied(decide("SELECT pg_catalog.pg_terminate_backend(42)", alice), undefined);
    assertDenied(decide("SET ROLE postgres", alice), undefined);
    assertDenied(decide("SELECT set_config('role', 'postgres', false)", alice), undefined);
  });

  test("engineers write with a WHERE clause, never without one in production", () => {
    assertAllowed(decide("UPDATE orders SET status = 'shipped' WHERE id = 104", bob), "engineers-read-write");
    assertAllowed(decide("DELETE FROM orders WHERE id = 108", bob), "engineers-read-write");
    assertAllowed(
      decide("INSERT INTO orders (id, customer_id) VALUES (200, 1)", bob),
      "engineers-read-write",
    );
    const reason = /without a WHERE clause .* on orders is not allowed on pg-demo: add a WHERE clause/;
    assertDenied(decide("UPDATE orders SET status = 'shipped'", bob), "no-unfiltered-writes-in-prod", reason);
    assertDenied(decide("DELETE FROM orders WHERE true", bob), "no-unfiltered-writes-in-prod", reason);
    assertDenied(
      decide("DELETE FROM orders WHERE 1 = 1 OR id = 3", bob),
      "no-unfiltered-writes-in-prod",
      reason,
    );
    // Outside production the WHERE guard rail does not apply.
    assertAllowed(decide("UPDATE orders SET status = 'shipped'", bob, dev), "engineers-read-write");
  });

  test("engineers do not change the schema", () => {
    assertDenied(decide("CREATE INDEX ON orders (status)", bob), undefined);
    assertDenied(decide("ALTER TABLE orders ADD COLUMN note text", bob), undefined);
    assertDenied(decide("GRANT SELECT ON customers TO PUBLIC", bob), undefined);
  });

  test("nobody drops or truncates in production, on-call included", () => {
    const reason = /^DROP and TRUNCATE are not allowed on pg-demo \(env=prod\)$/;
    assertDenied(decide("DROP TABLE orders", bob), "no-drop-in-prod", reason);
    assertDenied(decide("drop/**/TABLE orders", carol), "no-drop-in-prod", reason);
    assertDenied(decide("DROP INDEX orders_status_idx", carol), "no-drop-in-prod", reason);
    // TRUNCATE is also an unfiltered write; the first rule in bundle order gives the reason.
    const truncate = decide("TRUNCATE orders", carol);
    assertDenied(truncate, "no-drop-in-prod", reason);
    assert.deepEqual(truncate.ruleIds, ["no-drop-in-prod", "no-unfiltered-writes-in-prod"]);
    assertAllowed(decide("DROP TABLE scratch", carol, dev), "oncall-broad");
  });

  test("unparsable and dynamic SQL is denied in production, and elsewhere unless a rule allows it", () => {
    const reason = /could not fully analyse this statement .* not allowed on pg-demo$/;
    assertDenied(decide("SELEC id FROM customers", carol), "no-opaque-sql-in-prod", reason);
    const dynamic = "DO $$ BEGIN EXECUTE current_setting('app.statement'); END $$";
    assertDenied(decide(dynamic, carol), "no-opaque-sql-in-prod", reason);
    assertDenied(decide(dynamic, carol, dev), undefined);
    assertDenied(decide("SELEC id FROM customers", alice, dev), undefined);
  });

  test("on-call engineers may change the schema, but not roles or privileges", () => {
    assertAllowed(decide("CREATE INDEX CONCURRENTLY ON orders (status)", carol), "oncall-broad");
    assertAllowed(decide("ALTER TABLE orders ADD COLUMN note text", carol), "oncall-broad");
    assertAllowed(decide("VACUUM ANALYZE orders", carol), "oncall-broad");
    assertAllowed(decide("SELECT pg_cancel_backend(42)", carol), "oncall-broad");
    assertDenied(decide("SET ROLE postgres", carol), undefined);
    assertDenied(decide("GRANT SELECT ON customers TO PUBLIC", carol), undefined);
    assertDenied(decide("ALTER ROLE app SUPERUSER", carol), undefined);
    assertDenied(decide("ALTER SYSTEM SET fsync = off", carol), undefined);
  });

  test("anyone outside the known groups is denied everything", () => {
    assertDenied(decide("SELECT 1", mallory), undefined, /^no policy rule allows this action$/);
    assertDenied(decide("SELECT 1", mallory, dev), undefined);
  });
});
