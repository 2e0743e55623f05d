import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { serialize } from "pg-protocol";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { errorText, RawPgClient, types } from "../harness/raw-pg-client.ts";

describe("the PostgreSQL wire protocol through the gateway", () => {
  let f: GatewayFixture;
  let engineer: string;
  const client = async (connection = "pg-prod", token = engineer) => {
    const c = new pg.Client({
      host: "127.0.0.1",
      port: f.gateway.postgres.port,
      database: connection,
      user: "tester",
      password: token,
      ssl: { rejectUnauthorized: false },
    });
    await c.connect();
    return c;
  };
  const count = async (where: string): Promise<number> => {
    const app = await f.app();
    const { rows } = await app.query(`SELECT count(*)::int AS n FROM items WHERE ${where}`);
    await app.end();
    return rows[0].n as number;
  };

  before(async () => {
    f = await startGatewayFixture();
    engineer = await f.token("erin@corp.example", ["engineers"]);
    const app = await f.app();
    await app.query("CREATE TABLE items (id int PRIMARY KEY, name text)");
    await app.end();
  });
  after(() => f.stop());

  test("the pg driver runs parameterised statements (extended protocol)", async () => {
    const c = await client();
    await c.query("INSERT INTO items VALUES ($1, $2)", [1, "one"]);
    const { rows } = await c.query("SELECT name FROM items WHERE id = $1", [1]);
    assert.deepEqual(rows, [{ name: "one" }]);
    await c.end();
  });

  test("named prepared statements run repeatedly", async () => {
    const c = await client();
    for (const id of [2, 3, 4]) {
      await c.query({ name: "ins", text: "INSERT INTO items VALUES ($1, $2)", values: [id, `n${id}`] });
    }
    assert.equal(await count("id BETWEEN 2 AND 4"), 3);
    await c.end();
  });

  test("the pg driver gets the denial as a native error with SQLSTATE 42501", async () => {
    const c = await client();
    await assert.rejects(c.query("DROP TABLE items"), (error: pg.DatabaseError) => {
      assert.equal(error.code, "42501");
      assert.match(error.message, /denied by rule no-drop-in-prod/);
      return true;
    });
    const { rows } = await c.query("SELECT 1 AS ok");
    assert.deepEqual(rows, [{ ok: 1 }]);
    await c.end();
  });

  test("a pipeline with one denied statement before Sync runs nothing", async () => {
    const raw = await RawPgClient.connect(f.gateway.postgres.port, "pg-prod", engineer);
    raw.send(
      serialize.parse({ text: "INSERT INTO items VALUES (10, 'pipelined')" }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.parse({ text: "TRUNCATE items" }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.parse({ text: "INSERT INTO items VALUES (11, 'pipelined')" }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.sync(),
    );
    const response = await raw.untilReady();
    assert.equal(types(response), "E Z");
    assert.match(errorText(response) ?? "", /denied by rule no-drop-in-prod/);
    assert.equal(await count("id IN (10, 11)"), 0);
    raw.send(serialize.query("SELECT 1"));
    assert.equal(types(await raw.untilReady()), "T D C Z");
    raw.end();
  });

  test("after a denied Flush-ended batch the gateway skips to Sync like the server", async () => {
    const raw = await RawPgClient.connect(f.gateway.postgres.port, "pg-prod", engineer);
    raw.send(
      serialize.parse({ text: "INSERT INTO items VALUES (20, 'x')" }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.flush(),
    );
    await raw.until((m) => m.type === 0x43);
    raw.send(
      serialize.parse({ text: "DROP TABLE items" }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.flush(),
    );
    const denied = await raw.until((m) => m.type === 0x45);
    assert.match(errorText(denied) ?? "", /denied by rule no-drop-in-prod/);
    // Skipped until Sync, and the earlier insert of the same implicit transaction rolled back.
    raw.send(
      serialize.parse({ text: "INSERT INTO items VALUES (21, 'x')" }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.sync(),
    );
    assert.equal(types(await raw.untilReady()), "Z");
    assert.equal(await count("id IN (20, 21)"), 0);
    raw.end();
  });

  test("a portal bound from a statement parsed earlier is judged by that statement", async () => {
    const raw = await RawPgClient.connect(f.gateway.postgres.port, "pg-prod", engineer);
    raw.send(serialize.parse({ name: "later", text: "TRUNCATE items" }), serialize.sync());
    assert.equal(types(await raw.untilReady()), "1 Z");
    raw.send(
      serialize.bind({ statement: "later", portal: "p1" }),
      serialize.execute({ portal: "p1" }),
      serialize.sync(),
    );
    const response = await raw.untilReady();
    assert.match(errorText(response) ?? "", /denied by rule no-drop-in-prod/);
    assert.ok((await count("true")) > 0);
    raw.end();
  });

  test("EXECUTE of a SQL-level PREPARE is judged by what was prepared", async () => {
    const analyst = await client("pg-prod", await f.token("alice@corp.example", ["analysts"]));
    await analyst.query("PREPARE lookup(int) AS SELECT name FROM items WHERE id = $1");
    assert.deepEqual((await analyst.query("EXECUTE lookup(1)")).rows, [{ name: "one" }]);
    // An unknown name cannot be judged, so it is denied rather than passed through.
    await assert.rejects(
      analyst.query("EXECUTE never_prepared(1)"),
      /sluice: denied: no policy rule allows this action/,
    );
    // A PREPARE that was refused leaves no name behind to EXECUTE later.
    await assert.rejects(
      analyst.query("PREPARE zap(int) AS DELETE FROM items WHERE id = $1"),
      /sluice: denied/,
    );
    await assert.rejects(analyst.query("EXECUTE zap(1)"), /sluice: denied/);
    await analyst.end();
    const events = await f.gateway.store.searchAudit({ user: "alice@corp.example", limit: 20 });
    const executed = events.find(
      (e) => (e.data.action as { text: string } | undefined)?.text === "EXECUTE lookup(1)",
    );
    assert.ok(executed, "the EXECUTE was audited");
    const facts = (executed.data.action as { facts: { sql: { kinds: string[]; tables: string[] } } }).facts
      .sql;
    assert.deepEqual(facts.kinds, ["execute", "select"]);
    assert.deepEqual(facts.tables, ["items"]);
    assert.equal(await count("id = 1"), 1);
  });

  test("the fast-path function call protocol is refused", async () => {
    const raw = await RawPgClient.connect(f.gateway.postgres.port, "pg-prod", engineer);
    const body = Buffer.alloc(4 + 2 + 2 + 2);
    body.writeInt32BE(764, 0); // lo_import's OID, for instance
    const message = Buffer.concat([Buffer.from([0x46]), Buffer.from([0, 0, 0, 4 + body.length]), body]);
    raw.send(message, serialize.sync());
    const response = await raw.untilReady();
    assert.match(errorText(response) ?? "", /fast-path function call protocol is not allowed/);
    raw.end();
  });

  test("a malformed message gets a protocol error and does not take the gateway down", async () => {
    const raw = await RawPgClient.connect(f.gateway.postgres.port, "pg-prod", engineer);
    raw.send(Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff]));
    const response = await raw.until((m) => m.type === 0x45);
    assert.match(errorText(response) ?? "", /protocol violation: invalid message length/);
    const c = await client();
    assert.deepEqual((await c.query("SELECT 2 AS two")).rows, [{ two: 2 }]);
    await c.end();
  });

  test("a 1,000,000-row result streams through with bounded gateway memory", async () => {
    const c = await client("pg-prod");
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    // Rows are consumed and dropped by a row-mode query with a small custom parser, so the test
    // process holds no more than the gateway does.
    let rows = 0;
    const query = new pg.Query({
      text: "SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 1000000) g",
    });
    query.on("row", () => {
      rows++;
    });
    const done = new Promise<void>((resolve, reject) => {
      query.on("end", () => resolve());
      query.on("error", reject);
    });
    c.query(query);
    await done;
    clearInterval(timer);
    await c.end();
    assert.equal(rows, 1_000_000);
    const grewMb = (peak - before) / 1024 / 1024;
    // The result is over 100 MB on the wire; a gateway that buffered it would grow by that much.
    assert.ok(grewMb < 80, `gateway process grew by ${grewMb.toFixed(0)} MB`);
  });

  test("when the audit store cannot take the event, the statement is denied", async () => {
    const db = new Database(`${f.dir}/data/sluice.db`);
    db.exec("BEGIN EXCLUSIVE");
    try {
      const c = await client();
      await assert.rejects(
        c.query("INSERT INTO items VALUES (30, 'unaudited')"),
        /audit trail is unavailable/,
      );
      await c.end();
    } finally {
      db.exec("ROLLBACK");
      db.close();
    }
    assert.equal(await count("id = 30"), 0);
    const c = await client();
    await c.query("INSERT INTO items VALUES (31, 'audited')");
    await c.end();
    assert.equal(await count("id = 31"), 1);
  });
});
