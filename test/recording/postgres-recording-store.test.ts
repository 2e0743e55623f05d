import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import type { SigningKey } from "../../src/identity/index.ts";
import {
  PostgresRecordingStore,
  type RecordingReport,
  readRecording,
  SessionRecorder,
  statementEvent,
  verifyRecording,
} from "../../src/recording/index.ts";
import {
  recordPostgresSession,
  sealChecker,
  tempDir,
  testKey,
  testSession,
} from "../../src/recording/test-support.ts";
import { PostgresStore } from "../../src/store/index.ts";
import { startPostgres, type TestPostgres } from "../harness/postgres-server.ts";

let server: TestPostgres;
let key: SigningKey;
let databases = 0;
const opened: PostgresStore[] = [];

before(async () => {
  server = await startPostgres();
  key = await testKey();
});
after(async () => {
  for (const store of opened) await store.close();
  await server?.stop();
});

/** A new empty database with a PostgreSQL store and a recording store on its pool. */
async function open(): Promise<{ name: string; store: PostgresStore; recordings: PostgresRecordingStore }> {
  const name = `recstore_${++databases}`;
  await sql("postgres", `CREATE DATABASE ${name}`);
  const url = `postgres://${server.superuser}@${server.host}:${server.port}/${name}`;
  const store = new PostgresStore({ url, password: server.superPassword, log: () => {} });
  opened.push(store);
  return { name, store, recordings: new PostgresRecordingStore({ store, url }) };
}

async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
  database: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = await server.admin(database);
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const kinds = (report: RecordingReport) => report.problems.map((p) => [p.kind, p.seq ?? null]);

describe("PostgresRecordingStore", () => {
  test("create, append, read (whole and from a byte), list, close; its own schema component", async () => {
    const { name, recordings } = await open();
    await recordings.create("s-1");
    await assert.rejects(recordings.create("s-1"), /already open/);
    await recordings.append("s-1", '{"a":1}\n');
    await recordings.append("s-1", '{"b":"ü"}\n{"c":3}\n');
    const whole = await recordings.read("s-1");
    assert.equal(whole.toString("utf8"), '{"a":1}\n{"b":"ü"}\n{"c":3}\n');
    // From inside a line, inside a character (bytes, as a file would give them), a line start, the end.
    assert.equal((await recordings.read("s-1", 13)).toString("utf8"), '"ü"}\n{"c":3}\n');
    assert.deepEqual(await recordings.read("s-1", 15), whole.subarray(15));
    assert.deepEqual(await recordings.read("s-1", 8), whole.subarray(8));
    assert.equal((await recordings.read("s-1", whole.length)).length, 0);
    await recordings.close("s-1");
    await assert.rejects(recordings.append("s-1", "x\n"), /not open for writing/);
    // Once closed, the recording exists: it cannot be created again (by this or another gateway).
    await assert.rejects(recordings.create("s-1"), /exists already/);
    await recordings.create("s-empty");
    assert.equal((await recordings.read("s-empty")).length, 0);
    assert.deepEqual((await recordings.list()).sort(), ["s-1", "s-empty"]);
    await assert.rejects(recordings.read("s-none"), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, "ENOENT");
      assert.match(error.message, /no recording of session s-none/);
      return true;
    });
    await assert.rejects(recordings.create("../x"), /not a valid recording id/);
    // One row per line, in part order; the recording tables have their own schema version.
    assert.deepEqual(
      await sql(name, "SELECT part::int, text FROM recording_chunks WHERE session_id = 's-1' ORDER BY part"),
      [
        { part: 1, text: '{"a":1}\n' },
        { part: 2, text: '{"b":"ü"}\n' },
        { part: 3, text: '{"c":3}\n' },
      ],
    );
    assert.deepEqual(await sql(name, "SELECT version FROM sluice_schema WHERE component = 'recordings'"), [
      { version: 1 },
    ]);
    assert.doesNotMatch(recordings.location, /sluice-test-superuser/);
  });

  test("a recording in PostgreSQL is byte for byte the recording a file would hold, and verifies", async () => {
    const { recordings } = await open();
    const temp = await tempDir();
    try {
      await recordPostgresSession(temp.dir, key, "s-same", { store: recordings });
      await recordPostgresSession(temp.dir, key, "s-same");
      const inPostgres = await recordings.read("s-same");
      const inFile = await readFile(join(temp.dir, "s-same.jsonl"));
      const chunkLines = (bytes: Buffer) => bytes.toString("utf8").split("\n").slice(0, 6);
      // Everything but the seal's signature (ES256 signatures differ each time) is identical.
      assert.deepEqual(chunkLines(inPostgres), chunkLines(inFile));
      const report = await verifyRecording("s-same", readRecording(inPostgres), {
        verifySeal: await sealChecker(key),
      });
      assert.equal(report.status, "sealed");
      assert.equal(report.seal?.signature, "verified");
      assert.deepEqual(report.problems, []);
    } finally {
      await temp.remove();
    }
  });

  test("verification finds a row edited, deleted or reordered with SQL", async () => {
    const { name, recordings } = await open();
    for (const id of ["s-edit", "s-delete", "s-reorder"]) {
      await recordPostgresSession("", key, id, { store: recordings });
    }
    const verify = async (id: string) =>
      verifyRecording(id, readRecording(await recordings.read(id)), { verifySeal: await sealChecker(key) });
    assert.equal((await verify("s-edit")).status, "sealed");

    // Parts: 1 start, 2 SELECT, 3 its result, 4 DROP (denied), 5 its error, 6 end, 7 seal.
    await sql(
      name,
      "UPDATE recording_chunks SET text = replace(text, 'DROP TABLE users', 'SELECT 1') WHERE session_id = 's-edit' AND part = 4",
    );
    const edited = await verify("s-edit");
    assert.equal(edited.status, "broken");
    assert.deepEqual(kinds(edited), [["edited", 4]]);
    assert.equal(edited.verifiedThrough, 3);

    await sql(name, "DELETE FROM recording_chunks WHERE session_id = 's-delete' AND part = 3");
    const deleted = await verify("s-delete");
    assert.equal(deleted.status, "broken");
    assert.deepEqual(kinds(deleted), [
      ["deleted", 3],
      ["bad-seal", null],
    ]);

    // Swap parts 2 and 3 (through a free number: the key is checked row by row).
    await sql(
      name,
      `UPDATE recording_chunks SET part = -1 WHERE session_id = 's-reorder' AND part = 2;
       UPDATE recording_chunks SET part = 2 WHERE session_id = 's-reorder' AND part = 3;
       UPDATE recording_chunks SET part = 3 WHERE session_id = 's-reorder' AND part = -1;`,
    );
    const reordered = await verify("s-reorder");
    assert.equal(reordered.status, "broken");
    assert.deepEqual(kinds(reordered), [
      ["reordered", 3],
      ["reordered", 2],
    ]);
    assert.equal(reordered.verifiedThrough, 1);
  });

  test("many sessions recording at once: appends are batched, each recording verifies", async () => {
    const { name, recordings } = await open();
    const recorder = new SessionRecorder({
      store: recordings,
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 10,
      flushIntervalMs: 1,
    });
    const ids = Array.from({ length: 40 }, (_, i) => `c-${i}`);
    for (const id of ids) recorder.begin(testSession(id));
    for (let n = 0; n < 20; n++) {
      for (const id of ids) {
        recorder.record(
          id,
          statementEvent(
            { text: `SELECT ${n} /* ${id} */` },
            { effect: "allow", reasonCode: "rule-allowed", reason: "ok", ruleIds: ["r"], policyVersion: "v" },
          ),
        );
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await Promise.all(ids.map((id) => recorder.end(id, "client closed")));
    assert.ok(results.every((r) => r.sealed && r.chunks === 22));
    assert.equal(recorder.health().ok, true);
    const checker = await sealChecker(key);
    for (const id of ids) {
      const report = await verifyRecording(id, readRecording(await recordings.read(id)), {
        verifySeal: checker,
      });
      assert.equal(report.status, "sealed", `${id}: ${JSON.stringify(report.problems)}`);
    }
    const [count] = await sql<{ n: string }>(name, "SELECT count(*) AS n FROM recording_chunks");
    assert.equal(Number(count?.n), 40 * 23);
  });

  test("recording tables written by a newer Sluice are refused; the recorder fails closed", async () => {
    const { name, recordings } = await open();
    await recordings.list();
    await sql(name, "UPDATE sluice_schema SET version = 2 WHERE component = 'recordings'");
    const url = `postgres://${server.superuser}@${server.host}:${server.port}/${name}`;
    const store = new PostgresStore({ url, password: server.superPassword, log: () => {} });
    opened.push(store);
    const newer = new PostgresRecordingStore({ store, url });
    await assert.rejects(newer.create("s-x"), /written by a newer Sluice \(format 2; this version reads 1\)/);
    const failures: string[] = [];
    const recorder = new SessionRecorder({
      store: newer,
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 10,
      onFailure: ({ error }) => failures.push(error.message),
    });
    recorder.begin(testSession("s-y"));
    await assert.rejects(recorder.drain("s-y"), /newer Sluice/);
    assert.equal(recorder.health().ok, false);
    assert.equal(failures.length, 1);
    assert.equal((await recorder.end("s-y", "done")).sealed, false);
  });
});
