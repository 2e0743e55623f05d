import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import pg from "pg";
import { type GatewayFixture, startGatewayFixture, TEST_POLICY } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";

const EMAIL = "sentinel.alice@example.com";
const SSN = "078-05-1120";
const CARD = "4111 1111 1111 1111";
const SECRET = "sk_live_51HsentinelKEY0123456789abc";
const SENTINELS = [EMAIL, SSN, CARD, SECRET, "078051120", "4111111111111111"];

const POLICY = `${TEST_POLICY}
  - id: analysts-listen
    match: { protocols: [postgres], groups: [analysts] }
    when: sql.statement_kind == "listen"
    effect: allow
  - id: mask-pii
    description: Customer PII is masked for everyone
    match: { protocols: [postgres] }
    effect: mask
    mask:
      columns: [customers.email, customers.card, public.customers.ssn]
      detectors: [email, credit_card, us_ssn, api_key]
      strategy: redact
  - id: ssn-no-oracle
    description: Nobody filters or sorts on SSNs
    match: { protocols: [postgres] }
    effect: mask
    mask: { columns: [customers.ssn], strategy: "null", deny_in_filters: true }
`;

/** A full garbage collection, to measure what is retained rather than what is not yet collected. */
function forcedGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** Every sentinel, in any letter case, absent from `text`. */
function assertClean(text: string, what: string): void {
  const lower = text.toLowerCase();
  for (const s of SENTINELS)
    assert.ok(!lower.includes(s.toLowerCase()), `${what} leaked ${s}: ${text.slice(0, 400)}`);
}

describe("masking on the wire", () => {
  let f: GatewayFixture;
  let analyst: string;
  let engineer: string;
  /** A pg client through the gateway that keeps every byte it received. */
  const client = async (): Promise<{ c: pg.Client; received: () => string }> => {
    const c = new pg.Client({
      host: "127.0.0.1",
      port: f.gateway.postgres.port,
      database: "pg-prod",
      user: "tester",
      password: analyst,
      ssl: { rejectUnauthorized: false },
    });
    await c.connect();
    const chunks: Buffer[] = [];
    const stream = (c as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream;
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    return { c, received: () => Buffer.concat(chunks).toString("latin1") };
  };
  const run = async (sql: string, token = analyst, input?: string) => {
    const r = await psql(
      f.conninfo(),
      token,
      input === undefined ? ["-c", sql] : [],
      input === undefined ? {} : { input },
    );
    assertClean(r.stdout + r.stderr, sql);
    return r;
  };

  before(async () => {
    f = await startGatewayFixture({
      policy: POLICY,
      extraConfig: "masking:\n  hash_key: file:./app-password\n",
    });
    analyst = await f.token("alice@corp.example", ["analysts"]);
    engineer = await f.token("erin@corp.example", ["engineers"]);
    const app = await f.app();
    await app.query(
      "CREATE TABLE customers (id int PRIMARY KEY, name text, email text, ssn text, card text, note text, born date)",
    );
    await app.query("INSERT INTO customers VALUES ($1, 'Alice', $2, $3, $4, $5, '1990-01-02')", [
      1,
      EMAIL,
      SSN,
      CARD,
      `call later, key ${SECRET}`,
    ]);
    await app.query(
      "INSERT INTO customers VALUES (2, 'Bob', 'bob@corp.example', NULL, NULL, 'no notes', NULL)",
    );
    await app.query("CREATE VIEW contacts AS SELECT id, name, email AS contact FROM customers");
    await app.query("CREATE TABLE copies (v text)");
    await app.query(
      "CREATE FUNCTION leak() RETURNS text LANGUAGE sql AS $$ SELECT email FROM customers WHERE id = 1 $$",
    );
    await app.query(
      "CREATE FUNCTION shout() RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'found %', (SELECT email FROM customers WHERE id = 1); END $$",
    );
    await app.end();
  });
  after(() => f.stop());

  test("masked columns are redacted while other columns arrive intact", async () => {
    const r = await run("SELECT id, name, email, ssn, card, born FROM customers ORDER BY id");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), [
      "1|Alice|[MASKED]||[MASKED]|1990-01-02",
      "2|Bob|[MASKED]|||",
    ]);
  });

  test("aliases, expressions, casts and whole rows are traced to the source column", async () => {
    for (const sql of [
      "SELECT email AS x FROM customers",
      "SELECT upper(email) FROM customers",
      "SELECT email || '' FROM customers",
      "SELECT email::varchar(100), ssn::text FROM customers",
      "SELECT row_to_json(c) FROM customers c",
      "SELECT json_agg(email) FROM customers",
      "SELECT string_agg(email, ',') FROM customers",
      "SELECT * FROM customers",
      "SELECT * FROM contacts",
      "SELECT upper(contact) FROM contacts",
      "WITH x AS (SELECT email AS e FROM customers) SELECT lower(e) FROM x",
      "SELECT m FROM (SELECT email AS m FROM customers) s",
      "SELECT (SELECT email FROM customers WHERE id = 1)",
      "SELECT leak()",
      "SELECT name, note FROM customers",
    ]) {
      const r = await run(sql);
      assert.equal(r.code, 0, `${sql}: ${r.stderr}`);
      assert.ok(r.stdout.length > 0, sql);
    }
    const names = await run("SELECT name, upper(name) FROM customers ORDER BY id");
    assert.equal(names.stdout.trim(), "Alice|ALICE\nBob|BOB");
  });

  test("COPY TO STDOUT is masked, and formats the gateway cannot read are refused", async () => {
    const copy = await run("COPY customers TO STDOUT");
    assert.equal(copy.code, 0, copy.stderr);
    assert.match(
      copy.stdout,
      /^1\tAlice\t\[MASKED\]\t\\N\t\[MASKED\]\tcall later, key \[MASKED\]\t1990-01-02$/m,
    );
    const query = await run("COPY (SELECT id, upper(email) FROM customers) TO STDOUT");
    assert.match(query.stdout, /^1\t\[MASKED\]$/m);
    const csv = await run("COPY customers TO STDOUT WITH (FORMAT csv)");
    assert.equal(csv.code, 1);
    assert.match(csv.stderr, /COPY in csv format cannot be masked/);
  });

  test("cursors, RETURNING and prepared statements are masked", async () => {
    const cursor = await run(
      "",
      analyst,
      "BEGIN;\nDECLARE c CURSOR FOR SELECT id, email FROM customers ORDER BY id;\nFETCH ALL FROM c;\nCOMMIT;\n",
    );
    assert.equal(cursor.code, 0, cursor.stderr);
    assert.match(cursor.stdout, /1\|\[MASKED\]/);
    const returning = await run(
      "UPDATE customers SET name = 'Alice' WHERE id = 1 RETURNING id, email",
      engineer,
    );
    assert.equal(returning.code, 0, returning.stderr);
    assert.match(returning.stdout, /1\|\[MASKED\]/);
    const prepared = await run(
      "",
      analyst,
      "PREPARE p AS SELECT email FROM customers WHERE id = 1;\nEXECUTE p;\n",
    );
    assert.equal(prepared.code, 0, prepared.stderr);
    assert.match(prepared.stdout, /\[MASKED\]/);
  });

  test("errors and notices that could quote masked values are withheld or scanned", async () => {
    const cast = await run("SELECT email::int FROM customers");
    assert.equal(cast.code, 1);
    assert.match(cast.stderr, /withheld because the statement touches masked data/);
    const notice = await run("SELECT shout()");
    assert.equal(notice.code, 0, notice.stderr);
    const typo = await run("SELECT emial FROM customers");
    assert.match(typo.stderr, /column "emial" does not exist/);
  });

  test("masked data cannot be copied elsewhere or used as a filter oracle", async () => {
    const copy = await run("INSERT INTO copies SELECT email FROM customers", engineer);
    assert.equal(copy.code, 1);
    assert.match(copy.stderr, /copies masked data/);
    const notify = await run("SELECT pg_notify('x', email) FROM customers", engineer);
    assert.equal(notify.code, 1);
    const oracle = await run("SELECT id FROM customers WHERE ssn LIKE '078%'");
    assert.equal(oracle.code, 1);
    assert.match(oracle.stderr, /masked column is used to filter.*ssn-no-oracle/);
    const sorted = await run("SELECT id FROM customers ORDER BY ssn");
    assert.equal(sorted.code, 1);
    const fine = await run("SELECT id FROM customers WHERE name = 'Bob'");
    assert.equal(fine.stdout.trim(), "2");
    const app = await f.app();
    const { rows } = await app.query("SELECT count(*)::int AS n FROM copies");
    await app.end();
    assert.equal(rows[0].n, 0);
  });

  test("the pg driver gets masked rows in text and binary formats, and NOTIFY payloads are scanned", async () => {
    const { c, received } = await client();
    const text = await c.query("SELECT id, name, email, card, born FROM customers WHERE id = $1", [1]);
    assert.deepEqual(text.rows[0], {
      id: 1,
      name: "Alice",
      email: "[MASKED]",
      card: "[MASKED]",
      born: text.rows[0].born,
    });
    const binary = await c.query({
      text: "SELECT id, name, email, ssn, upper(email) AS up FROM customers WHERE id = $1",
      values: [1],
      binary: true,
    } as pg.QueryConfig);
    assert.equal(binary.rows[0].name, "Alice");
    assert.equal(binary.rows[0].email, "[MASKED]");
    assert.equal(binary.rows[0].ssn, null);
    assert.equal(binary.rows[0].up, "[MASKED]");

    const notified = new Promise<string>((resolve) => c.on("notification", (n) => resolve(n.payload ?? "")));
    await c.query("LISTEN news");
    const app = await f.app();
    await app.query(`SELECT pg_notify('news', 'contact ${EMAIL} now')`);
    await app.end();
    assert.equal(await notified, "contact [MASKED] now");
    await c.end();
    assertClean(received(), "bytes received by the pg driver");
    assert.match(received(), /Alice/);
  });

  test("a 1,000,000-row masked result streams row by row with bounded gateway memory", async () => {
    const { c } = await client();
    const gc = forcedGc();
    gc();
    const before = process.memoryUsage().heapUsed;
    let rows = 0;
    let leaked = 0;
    let held = 0;
    const query = new pg.Query({
      text: "SELECT g, email, repeat('x', 60) AS pad FROM customers, generate_series(1, 500000) g",
    });
    query.on("row", (row: { email: string }) => {
      rows++;
      if (row.email !== "[MASKED]") leaked++;
      if (rows % 300_000 === 0) {
        // Mid-stream: what is live now is what the gateway (and this client) hold in flight.
        gc();
        held = Math.max(held, process.memoryUsage().heapUsed - before);
      }
    });
    const done = new Promise<void>((resolve, reject) => {
      query.on("end", () => resolve());
      query.on("error", reject);
    });
    c.query(query);
    await done;
    await c.end();
    assert.equal(rows, 1_000_000);
    assert.equal(leaked, 0);
    // The result is about 100 MB on the wire; a gateway that buffered it would hold that much
    // mid-stream. Live heap after a full collection is measured (peak RSS mostly shows garbage
    // V8 has not collected yet).
    const heldMb = held / 1024 / 1024;
    assert.ok(heldMb < 30, `the gateway held ${heldMb.toFixed(0)} MB mid-stream`);
  });

  test("the audit trail names the mask rules and counts masked values", async () => {
    await run("SELECT email, name FROM customers");
    let events = await f.gateway.store.readAuditChain({ limit: 10_000 });
    // The counts are recorded after the result was sent: wait for the write to land.
    for (let i = 0; i < 50 && !events.some((e) => e.type === "result.masked"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      events = await f.gateway.store.readAuditChain({ limit: 10_000 });
    }
    assertClean(JSON.stringify(events), "the audit trail");
    type Data = {
      action?: { text?: string };
      decision?: { mask_rule_ids?: string[] };
      masked?: unknown;
    };
    const data = events.map((e) => ({ type: e.type, data: JSON.parse(e.dataJson ?? "{}") as Data }));
    const text = "SELECT email, name FROM customers";
    const allowed = data.find((e) => e.type === "action.allowed" && e.data.action?.text === text);
    assert.deepEqual(allowed?.data.decision?.mask_rule_ids, ["mask-pii", "ssn-no-oracle"]);
    const masked = data.filter((e) => e.type === "result.masked" && e.data.action?.text === text);
    assert.equal(masked.length, 1);
    assert.deepEqual(masked[0]!.data.masked, { values: 2, by_rule: { "mask-pii": 2, "ssn-no-oracle": 0 } });
  });
});
