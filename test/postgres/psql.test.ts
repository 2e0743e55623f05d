import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";

describe("psql through the gateway", () => {
  let f: GatewayFixture;
  let engineer: string;
  let analyst: string;

  before(async () => {
    f = await startGatewayFixture();
    engineer = await f.token("erin@corp.example", ["engineers"]);
    analyst = await f.token("alice@corp.example", ["analysts"]);
    const app = await f.app();
    await app.query("CREATE TABLE orders (id int PRIMARY KEY, note text)");
    await app.query("INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 5) g");
    await app.end();
  });
  after(() => f.stop());

  test("an allowed query returns rows", async () => {
    const r = await psql(f.conninfo(), analyst, ["-c", "SELECT count(*) FROM orders"]);
    assert.equal(r.stderr, "");
    assert.equal(r.stdout.trim(), "5");
    assert.equal(r.code, 0);
  });

  test("DROP TABLE in production is denied with the rule and reason, and the table survives", async () => {
    const r = await psql(f.conninfo(), engineer, ["-c", "drop/**/TABLE orders"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /ERROR: {2}sluice: denied by rule no-drop-in-prod: DROP and TRUNCATE are not allowed on pg-prod/,
    );
    const app = await f.app();
    const { rows } = await app.query("SELECT count(*)::int AS n FROM orders");
    await app.end();
    assert.equal(rows[0].n, 5);
  });

  test("a message with one denied statement runs none of them", async () => {
    const r = await psql(f.conninfo(), engineer, [
      "-c",
      "INSERT INTO orders VALUES (100, 'sneaky'); DROP TABLE orders; INSERT INTO orders VALUES (101, 'x')",
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /denied by rule no-drop-in-prod/);
    const app = await f.app();
    const { rows } = await app.query("SELECT count(*)::int AS n FROM orders WHERE id >= 100");
    await app.end();
    assert.equal(rows[0].n, 0);
  });

  test("the session stays usable after a denial", async () => {
    const r = await psql(f.conninfo(), engineer, [], {
      input: "\\set ON_ERROR_STOP 0\nDROP TABLE orders;\nSELECT 'still here';\n",
    });
    assert.match(r.stderr, /denied by rule no-drop-in-prod/);
    assert.match(r.stdout, /still here/);
  });

  test("a denial inside a transaction aborts it, as a server error would", async () => {
    const r = await psql(f.conninfo(), engineer, [], {
      input: [
        "\\set ON_ERROR_STOP 0",
        "BEGIN;",
        "INSERT INTO orders VALUES (200, 'in tx');",
        "TRUNCATE orders;",
        "SELECT 'after denial';",
        "COMMIT;",
        "",
      ].join("\n"),
    });
    assert.match(r.stderr, /denied by rule no-drop-in-prod/);
    assert.match(r.stderr, /current transaction is aborted/);
    assert.match(r.stdout, /ROLLBACK|^$/m);
    const app = await f.app();
    const { rows } = await app.query("SELECT count(*)::int AS n FROM orders WHERE id = 200");
    await app.end();
    assert.equal(rows[0].n, 0);
  });

  test("unparseable SQL is denied by the gateway, not sent to the server", async () => {
    const r = await psql(f.conninfo(), engineer, ["-c", "SELEC * FROM orders"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sluice: denied: no policy rule allows this action/);
    assert.doesNotMatch(r.stderr, /syntax error/);
  });

  test("analysts cannot write", async () => {
    const r = await psql(f.conninfo(), analyst, ["-c", "UPDATE orders SET note = 'x' WHERE id = 1"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sluice: denied/);
  });

  test("changing standard_conforming_strings is refused by the protocol guard", async () => {
    const r = await psql(f.conninfo(), engineer, ["-c", "SET standard_conforming_strings = off"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /changing standard_conforming_strings is not allowed/);
  });

  test("COPY in both directions", async () => {
    const copyIn = await psql(f.conninfo("pg-dev"), engineer, ["-c", "COPY orders FROM STDIN"], {
      input: "300\tcopied one\n301\tcopied two\n\\.\n",
    });
    assert.equal(copyIn.stderr, "");
    assert.equal(copyIn.code, 0);
    const copyOut = await psql(f.conninfo("pg-dev"), analyst, [
      "-c",
      "COPY (SELECT id, note FROM orders WHERE id >= 300 ORDER BY id) TO STDOUT",
    ]);
    assert.equal(copyOut.stderr, "");
    assert.equal(copyOut.stdout, "300\tcopied one\n301\tcopied two\n");
  });

  test("notices from the server reach the client", async () => {
    const r = await psql(f.conninfo("pg-dev"), engineer, ["-c", "DROP TABLE IF EXISTS no_such_table"]);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /NOTICE: {2}table "no_such_table" does not exist, skipping/);
  });

  test("a cancel request (Ctrl-C in psql) reaches the server", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn("psql", [f.conninfo(), "-X", "-c", "SELECT pg_sleep(30)"], {
      env: { ...process.env, PGPASSWORD: analyst },
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    const started = Date.now();
    child.kill("SIGINT");
    await new Promise((resolve) => child.on("close", resolve));
    assert.match(stderr, /canceling statement due to user request/);
    assert.ok(Date.now() - started < 10_000);
  });

  test("a wrong token is refused at login", async () => {
    const r = await psql(f.conninfo(), `${engineer.slice(0, -4)}AAAA`, ["-c", "SELECT 1"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /FATAL: {2}sluice: invalid token/);
  });

  test("an expired token is refused at login", async () => {
    const { loadOrCreateSigningKey, TokenIssuer } = await import("../../src/identity/index.ts");
    const { loadConfig } = await import("../../src/config/index.ts");
    const config = await loadConfig(f.configPath);
    const key = await loadOrCreateSigningKey(config.signingKey.path);
    const hourAgo = new Date(Date.now() - 3600_000);
    const issuer = new TokenIssuer(key, config.tokens, { now: () => hourAgo });
    const expired = await issuer.issue({
      user: "erin@corp.example",
      groups: ["engineers"],
      kind: "human",
      ttlSeconds: 600,
    });
    const r = await psql(f.conninfo(), expired, ["-c", "SELECT 1"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /FATAL: {2}sluice: .*expired/);
  });

  test("a plaintext login is refused: tokens only travel inside TLS", async () => {
    const r = await psql(f.conninfo().replace("sslmode=require", "sslmode=disable"), engineer, [
      "-c",
      "SELECT 1",
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TLS is required/);
  });

  test("an unknown connection name is refused", async () => {
    const r = await psql(f.conninfo("pg-nope"), engineer, ["-c", "SELECT 1"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no postgres connection named "pg-nope"/);
  });

  test("an unreachable upstream gives a clean error", async () => {
    const r = await psql(f.conninfo("pg-down"), engineer, ["-c", "SELECT 1"]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /FATAL: {2}sluice: connection "pg-down" is unavailable: cannot reach the database/,
    );
  });

  test("every decision is in the audit trail with rule and policy version", async () => {
    const events = await f.gateway.store.searchAudit({ effect: "deny", limit: 1000 });
    const drop = events.find((e) => (e.data.action as { text: string }).text === "drop/**/TABLE orders");
    assert.ok(drop, "the denied DROP was audited");
    const decision = drop.data.decision as { rule_ids: string[]; policy_version: string };
    assert.deepEqual(decision.rule_ids, ["no-drop-in-prod"]);
    assert.equal(decision.policy_version, f.gateway.policyVersion());
    const facts = (drop.data.action as { facts: { sql: { kinds: string[] } } }).facts.sql;
    assert.ok(facts.kinds.includes("drop"));
  });
});
