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
const agentFor = (human: Principal, ...groups: string[]): Principal => ({
  user: "report-bot@corp.example",
  groups,
  kind: "agent",
  onBehalfOf: { user: human.user, groups: human.groups },
});

// The policy's time zone is UTC (the demo configuration sets none). 2024-05-07 is a Tuesday.
const TUESDAY_10AM = new Date("2024-05-07T10:00:00Z");
const TUESDAY_5PM = new Date("2024-05-07T17:59:59Z");
const TUESDAY_6PM = new Date("2024-05-07T18:00:00Z");
const TUESDAY_10PM = new Date("2024-05-07T22:00:00Z");
const TUESDAY_7AM = new Date("2024-05-07T07:59:00Z");
const SATURDAY_10AM = new Date("2024-05-11T10:00:00Z");
const SUNDAY_10AM = new Date("2024-05-12T10:00:00Z");

describe("example policies", () => {
  let bundle: PolicyBundle;
  let analyser: PostgresAnalyser;
  /** The bundle's clock: a Tuesday morning unless a test sets another time. */
  let now = TUESDAY_10AM;

  before(async () => {
    await loadSqlParser();
    analyser = new PostgresAnalyser();
    bundle = await loadPolicyBundle(POLICY_DIR, { clock: () => now });
  });

  /** Decides a single statement as the gateway would. */
  function decide(
    text: string,
    principal: Principal,
    connection: ConnectionInfo = prod,
    at: Date = TUESDAY_10AM,
  ): PolicyDecision {
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
    now = at;
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

  function assertApprovalRequired(decision: PolicyDecision, reason?: RegExp): void {
    assert.equal(
      decision.effect,
      "approve",
      `expected an approval, got ${decision.effect}: ${decision.reason}`,
    );
    assert.equal(decision.reasonCode, "approval-required");
    assert.deepEqual(decision.ruleIds, ["prod-unfiltered-writes-need-approval"]);
    assert.deepEqual(decision.approval, { reviewers: ["dba", "oncall"], minApprovals: 1, ttlSeconds: 3600 });
    if (reason) assert.match(decision.reason, reason);
  }

  const maskIds = (decision: PolicyDecision) => (decision.masks ?? []).map((m) => m.ruleId);

  test("the bundle loads: agents, guard rails, PII masks and teams, in file order", () => {
    assert.match(bundle.version, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(
      bundle.rules.map((r) => [r.id, r.effect]),
      [
        ["agents-read-only-business-hours", "allow"],
        ["no-drop-in-prod", "deny"],
        ["no-opaque-sql-in-prod", "deny"],
        ["prod-unfiltered-writes-need-approval", "approve"],
        ["analysts-pii-masked", "mask"],
        ["agents-pii-masked", "mask"],
        ["analysts-read-only", "allow"],
        ["engineers-read-write", "allow"],
        ["oncall-broad", "allow"],
      ],
    );
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

  test("analysts see the demo's customer PII masked; a mask never grants access", () => {
    const read = decide("SELECT id, name, email, ssn, card FROM customers", alice);
    assertAllowed(read, "analysts-read-only");
    assert.deepEqual(read.masks, [
      {
        ruleId: "analysts-pii-masked",
        columns: ["customers.email", "customers.ssn", "customers.card"],
        detectors: ["email", "credit_card", "us_ssn"],
        strategy: "redact",
      },
    ]);
    // The detectors look at every result, so the mask applies to whatever analysts read.
    assert.deepEqual(maskIds(decide("SELECT * FROM orders", alice)), ["analysts-pii-masked"]);
    const write = decide("UPDATE customers SET email = 'x' WHERE id = 1", alice);
    assertDenied(write, undefined);
    assert.deepEqual(maskIds(write), ["analysts-pii-masked"]);
    // Engineers and on-call see customer data as it is.
    assert.deepEqual(maskIds(decide("SELECT email FROM customers", bob)), []);
    assert.deepEqual(maskIds(decide("SELECT email FROM customers", carol)), []);
  });

  test("engineers write with a WHERE clause; without one, production needs an approval", () => {
    assertAllowed(decide("UPDATE orders SET status = 'shipped' WHERE id = 104", bob), "engineers-read-write");
    assertAllowed(decide("DELETE FROM orders WHERE id = 108", bob), "engineers-read-write");
    assertAllowed(
      decide("INSERT INTO orders (id, customer_id) VALUES (200, 1)", bob),
      "engineers-read-write",
    );
    const reason =
      /without a WHERE clause .* on orders needs approval on pg-demo: add a WHERE clause .* ask a DBA or the on-call engineer/;
    assertApprovalRequired(decide("UPDATE orders SET status = 'shipped'", bob), reason);
    assertApprovalRequired(decide("UPDATE orders SET status = 'x'", bob), reason);
    assertApprovalRequired(decide("DELETE FROM orders WHERE true", bob), reason);
    assertApprovalRequired(decide("DELETE FROM orders WHERE 1 = 1 OR id = 3", bob), reason);
    assertApprovalRequired(decide("DELETE FROM orders", carol), reason);
    // Outside production the WHERE guard rail does not apply.
    assertAllowed(decide("UPDATE orders SET status = 'shipped'", bob, dev), "engineers-read-write");
    // Only those who may write at all are asked for an approval: the others stay denied.
    assertDenied(decide("DELETE FROM orders", alice), undefined);
    assertDenied(decide("DELETE FROM orders", mallory), undefined);
    assertDenied(decide("DELETE FROM orders", agentFor(bob, "engineers")), undefined);
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
    const truncate = decide("TRUNCATE orders", carol);
    assertDenied(truncate, "no-drop-in-prod", reason);
    // TRUNCATE is also an unfiltered write, but a deny outranks an approval.
    assert.deepEqual(truncate.ruleIds, ["no-drop-in-prod"]);
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

  test("agents read for analysts and engineers in business hours, and only read", () => {
    const forAlice = agentFor(alice);
    const forBob = agentFor(bob);
    const read = "SELECT status, count(*) FROM orders GROUP BY status";
    assertAllowed(decide(read, forAlice), "agents-read-only-business-hours");
    assertAllowed(decide(read, forBob, dev, TUESDAY_5PM), "agents-read-only-business-hours");
    assertAllowed(
      decide("EXPLAIN SELECT * FROM orders WHERE id = 1", forBob),
      "agents-read-only-business-hours",
    );
    assert.deepEqual(maskIds(decide("SELECT email FROM customers", forBob)), ["agents-pii-masked"]);
    for (const at of [TUESDAY_7AM, TUESDAY_6PM, TUESDAY_10PM, SATURDAY_10AM, SUNDAY_10AM]) {
      assertDenied(decide(read, forAlice, prod, at), undefined, /^no policy rule allows this action$/);
    }
    assertDenied(decide("UPDATE orders SET status = 'shipped' WHERE id = 104", forBob), undefined);
    assertDenied(decide("INSERT INTO orders (id) VALUES (1)", forBob, dev), undefined);
    assertDenied(decide("SELECT nextval('orders_id_seq')", forBob), undefined);
    assertDenied(decide("COPY customers TO STDOUT", forAlice), undefined);
    assertDenied(decide("DROP TABLE orders", agentFor(carol)), "no-drop-in-prod");
    // The human must be an analyst or an engineer; an agent acting for nobody gets nothing.
    assertDenied(decide(read, agentFor(mallory)), undefined);
    assertDenied(
      decide(read, { user: "rogue-bot@corp.example", groups: ["analysts"], kind: "agent" }),
      undefined,
    );
  });

  test("agents get nothing from team rules, whatever their own groups", () => {
    const bot = agentFor(alice, "analysts", "engineers", "oncall");
    assertAllowed(decide("SELECT 1", bot), "agents-read-only-business-hours");
    assertDenied(decide("SELECT 1", bot, prod, SATURDAY_10AM), undefined);
    assertDenied(decide("INSERT INTO orders (id) VALUES (1)", bot), undefined);
    assertDenied(decide("CREATE INDEX ON orders (status)", bot), undefined);
  });

  test("anyone outside the known groups is denied everything", () => {
    assertDenied(decide("SELECT 1", mallory), undefined, /^no policy rule allows this action$/);
    assertDenied(decide("SELECT 1", mallory, dev), undefined);
  });
});
