import assert from "node:assert/strict";
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { type AuditRecord, SqliteStore } from "../store/index.ts";
import { JsonlFileSink } from "./jsonl-sink.ts";

let dir: string;
let store: SqliteStore;
let file: string;
const logs: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-sink-"));
  store = new SqliteStore(join(dir, "audit.db"));
  file = join(dir, "sink", "audit.jsonl");
  logs.length = 0;
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const events = (from: number, to: number): AuditRecord[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    id: `e${from + i}`,
    time: new Date().toISOString(),
    type: "action.allowed",
    sessionId: "s",
    user: "u",
    connection: "c",
    effect: "allow",
    data: { text: `SELECT ${from + i}` },
  }));

const sink = () =>
  new JsonlFileSink({ store, path: file, pollMs: 5, batchSize: 4, log: (m) => logs.push(m) });

const seqs = (path = file): number[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { seq: number }).seq);

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test("exports every event once, in order, and resumes after a restart", async () => {
  await store.appendAudit(events(1, 10));
  const first = sink();
  await first.start();
  await first.drain();
  await store.appendAudit(events(11, 12));
  await first.close();
  assert.deepEqual(seqs(), range(1, 12));
  assert.equal((JSON.parse(readFileSync(`${file}.cursor`, "utf8")) as { seq: number }).seq, 12);

  await store.appendAudit(events(13, 15));
  const second = sink();
  await second.start();
  await second.close();
  assert.deepEqual(seqs(), range(1, 15));
});

test("the background export follows new events without being asked", async () => {
  const live = sink();
  await live.start();
  await store.appendAudit(events(1, 9));
  for (let i = 0; i < 200 && live.exportedThrough < 9; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(live.exportedThrough, 9);
  await live.close();
  assert.deepEqual(seqs(), range(1, 9));
});

test("lines appended before a crash that did not move the cursor are not appended again", async () => {
  await store.appendAudit(events(1, 6));
  const first = sink();
  await first.start();
  await first.close();
  // As if the process died after appending 5..6 but before the cursor said so.
  writeFileSync(`${file}.cursor`, JSON.stringify({ seq: 4, hash: "" }));
  await store.appendAudit(events(7, 8));
  const second = sink();
  await second.start();
  await second.close();
  assert.deepEqual(seqs(), range(1, 8));
});

test("a partial last line from a crash in mid-append is cut and written again", async () => {
  await store.appendAudit(events(1, 3));
  const first = sink();
  await first.start();
  await first.close();
  await store.appendAudit(events(4, 5));
  appendFileSync(file, '{"seq":4,"id":"e4","ti');
  const second = sink();
  await second.start();
  await second.close();
  assert.deepEqual(seqs(), range(1, 5));
  assert.ok(logs.some((m) => m.includes("removing a partial last line")));
});

test("a rotated file starts again with the next event", async () => {
  await store.appendAudit(events(1, 3));
  const first = sink();
  await first.start();
  await first.drain();
  renameSync(file, `${file}.1`);
  await store.appendAudit(events(4, 5));
  await first.close();
  assert.deepEqual(seqs(`${file}.1`), range(1, 3));
  assert.deepEqual(seqs(), range(4, 5));
});

test("an unreadable cursor stops the sink from starting, naming the file", async () => {
  mkdirSync(dirname(file));
  writeFileSync(`${file}.cursor`, "garbage");
  await assert.rejects(sink().start(), /audit sink cursor .*audit\.jsonl\.cursor is unreadable/);
});
