import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { startPostgres, type TestPostgres } from "../harness/postgres-server.ts";
import { psql } from "../harness/psql.ts";
import { sluice } from "../harness/sluice-cli.ts";
import { startServe } from "../harness/sluice-serve.ts";

/** Gateways sharing a PostgreSQL store: `store: postgres://…`, password from PGPASSWORD. */
describe("the PostgreSQL store behind real gateways", () => {
  let f: GatewayFixture;
  /** The store's own server, apart from the target database. */
  let storePg: TestPostgres | undefined;
  const savedPassword = process.env.PGPASSWORD;
  before(async () => {
    f = await startGatewayFixture({
      store: async () => {
        storePg = await startPostgres();
        const admin = await storePg.admin();
        await admin.query("CREATE DATABASE sluice_store");
        await admin.end();
        // The store's password, as an operator would give it (children inherit it too).
        process.env.PGPASSWORD = storePg.superPassword;
        return `postgres://${storePg.superuser}@${storePg.host}:${storePg.port}/sluice_store`;
      },
    });
  });
  after(async () => {
    await f?.stop();
    await storePg?.stop();
    if (savedPassword === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = savedPassword;
  });

  async function store<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await storePg!.admin("sluice_store");
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  test("a psql statement lands in the PostgreSQL audit trail and audit verify passes", async () => {
    assert.equal(f.gateway.store.kind, "postgres");
    const token = await f.token("carol@corp.example", ["analysts"]);
    const r = await psql(f.conninfo(), token, ["-c", "SELECT 'pg-store-marker' AS m"]);
    assert.equal(r.code, 0, r.stderr);
    const denied = await psql(f.conninfo(), token, ["-c", "DELETE FROM nothing_here"]);
    assert.notEqual(denied.code, 0);

    const rows = await store((c) =>
      c.query<{ seq: string; type: string; user: string; effect: string }>(
        `SELECT seq, type, "user", effect FROM audit_events WHERE data LIKE '%pg-store-marker%' OR data LIKE '%nothing_here%' ORDER BY seq`,
      ),
    );
    assert.deepEqual(
      rows.rows.map((row) => [row.type, row.user, row.effect]),
      [
        ["action.allowed", "carol@corp.example", "allow"],
        ["action.denied", "carol@corp.example", "deny"],
      ],
    );

    await f.gateway.checkpointAudit();
    const verify = await sluice(["audit", "verify", "-c", f.configPath]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /^audit chain OK: \d+ events, seq 1\.\.\d+ /m);
    assert.match(verify.stdout, /^checkpoints: 1 signed by the gateway verified/m);
    const search = await sluice(["audit", "search", "-c", f.configPath, "--user", "carol@corp.example"]);
    assert.equal(search.code, 0, search.stderr);
    assert.match(search.stdout, /pg-store-marker/);
  });

  test("a second gateway process writing at the same time extends the same chain", async () => {
    const other = await startServe(f.configPath);
    try {
      const token = await f.token("dave@corp.example", ["engineers"]);
      const statements = (port: number, tag: string) =>
        Array.from({ length: 6 }, (_, i) =>
          psql(`host=127.0.0.1 port=${port} dbname=pg-prod user=tester sslmode=require`, token, [
            "-c",
            `SELECT '${tag}-${i}'`,
          ]),
        );
      const results = await Promise.all([
        ...statements(f.gateway.postgres.port, "in-process"),
        ...statements(other.port, "serve-process"),
      ]);
      for (const r of results) assert.equal(r.code, 0, r.stderr + other.stderr());
    } finally {
      assert.equal(await other.stop("SIGTERM"), 0, other.stderr());
    }
    const seqs = await store((c) => c.query<{ seq: string }>("SELECT seq FROM audit_events ORDER BY seq"));
    const numbers = seqs.rows.map((r) => Number(r.seq));
    assert.deepEqual(
      numbers,
      Array.from({ length: numbers.length }, (_, i) => i + 1),
    );
    const tags = await store((c) =>
      c.query("SELECT 1 FROM audit_events WHERE data LIKE '%serve-process-%' AND type = 'action.allowed'"),
    );
    assert.equal(tags.rowCount, 6);
    const verify = await sluice(["audit", "verify", "-c", f.configPath]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    // The second gateway signed the head when it stopped; both gateways share the signing key.
    assert.match(verify.stdout, /^checkpoints: 2 signed by the gateway verified/m);
  });

  test("audit verify exits 1 and names an edited, a reordered and a deleted row", async () => {
    const check = async (expected: RegExp) => {
      const r = await sluice(["audit", "verify", "-c", f.configPath]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, expected, r.stdout);
      assert.match(r.stdout, /^audit chain BROKEN: \d+ problems? in \d+ events.*\(postgres:\/\//m);
    };
    const marker = (
      await store((c) =>
        c.query<{ seq: string }>("SELECT seq FROM audit_events WHERE data LIKE '%pg-store-marker%'"),
      )
    ).rows[0]!.seq;

    await store((c) =>
      c.query("UPDATE audit_events SET data = replace(data, 'pg-store-marker', 'harmless') WHERE seq = $1", [
        marker,
      ]),
    );
    await check(new RegExp(`^seq ${marker}: edited: `, "m"));
    await store((c) =>
      c.query("UPDATE audit_events SET data = replace(data, 'harmless', 'pg-store-marker') WHERE seq = $1", [
        marker,
      ]),
    );
    assert.equal((await sluice(["audit", "verify", "-c", f.configPath])).code, 0);

    await store((c) =>
      c.query(`BEGIN; UPDATE audit_events SET seq = -1 WHERE seq = 3;
        UPDATE audit_events SET seq = 3 WHERE seq = 4; UPDATE audit_events SET seq = 4 WHERE seq = -1; COMMIT`),
    );
    await check(
      /^seq 3: reordered: moved 1 place earlier than written\nseq 4: reordered: moved 1 place later than written$/m,
    );
    await store((c) =>
      c.query(`BEGIN; UPDATE audit_events SET seq = -1 WHERE seq = 3;
        UPDATE audit_events SET seq = 3 WHERE seq = 4; UPDATE audit_events SET seq = 4 WHERE seq = -1; COMMIT`),
    );
    assert.equal((await sluice(["audit", "verify", "-c", f.configPath])).code, 0);

    await store((c) => c.query("DELETE FROM audit_events WHERE seq = $1", [marker]));
    await check(new RegExp(`^seq ${marker}: deleted: missing between seq \\d+ and seq \\d+$`, "m"));
  });

  test("when the store's database goes away, every statement is denied and nothing is forwarded", async () => {
    const token = await f.token("dave@corp.example", ["engineers"]);
    const app = await f.app();
    try {
      await app.query("CREATE TABLE IF NOT EXISTS store_down (n int)");
      await storePg!.stop();
      storePg = undefined;
      const r = await psql(f.conninfo(), token, ["-c", "INSERT INTO store_down VALUES (1)"], {
        timeoutMs: 60_000,
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /denied: the audit trail is unavailable/, r.stderr);
      assert.match(r.stderr, /reason: audit-unavailable/);
      const rows = await app.query("SELECT count(*)::int AS n FROM store_down");
      assert.deepEqual(rows.rows, [{ n: 0 }]);
    } finally {
      await app.end();
    }
  });
});
