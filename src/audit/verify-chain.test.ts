import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { type AuditRecord, linkHash, SqliteStore } from "../store/index.ts";
import { fromJsonLine, toJsonLine } from "./export-line.ts";
import { applyRetention } from "./retention.ts";
import { type ChainReport, type ChainSource, storeChainSource, verifyChain } from "./verify-chain.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-chain-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const event = (n: number, overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  id: `id-${n}`,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  type: "action.allowed",
  sessionId: "s1",
  user: "alice@corp.example",
  connection: "pg-prod",
  effect: "allow",
  data: { action: { text: `SELECT ${n}` } },
  ...overrides,
});

/** A store file with `count` events, written in batches of three. */
async function trail(count: number): Promise<string> {
  const path = join(dir, `audit-${++files}.db`);
  const store = new SqliteStore(path);
  const events = Array.from({ length: count }, (_, i) => event(i + 1));
  for (let i = 0; i < count; i += 3) await store.appendAudit(events.slice(i, i + 3));
  await store.close();
  return path;
}

async function verify(path: string, options: Parameters<typeof verifyChain>[1] = {}): Promise<ChainReport> {
  const store = new SqliteStore(path);
  try {
    return await verifyChain(storeChainSource(store, 4), options);
  } finally {
    await store.close();
  }
}

/** Changes the file behind the store's back, as someone with write access to it could. */
function tamper(path: string, ...statements: string[]): void {
  const db = new Database(path);
  for (const sql of statements) db.exec(sql);
  db.close();
}

const kinds = (report: ChainReport) => report.problems.map((p) => `${p.kind}@${p.seq}`);

test("an untouched chain verifies, with its count and head", async () => {
  const path = await trail(10);
  const report = await verify(path);
  assert.equal(report.ok, true);
  assert.equal(report.events, 10);
  assert.equal(report.head?.seq, 10);
  assert.match(report.head?.hash ?? "", /^[0-9a-f]{64}$/);
  assert.deepEqual(report.problems, []);
});

test("an edited row is named", async () => {
  const path = await trail(10);
  tamper(path, `UPDATE audit_events SET data = '{"action":{"text":"SELECT harmless"}}' WHERE seq = 4`);
  const report = await verify(path);
  assert.equal(report.ok, false);
  assert.deepEqual(kinds(report), ["edited@4"]);
  assert.match(report.problems[0]!.message, /seq 4: edited/);
});

test("an edited row whose hashes were recomputed breaks the link to the next row", async () => {
  const path = await trail(10);
  const db = new Database(path);
  db.prepare("UPDATE audit_events SET user = 'mallory' WHERE seq = 4").run();
  db.close();
  // Recompute seq 4's body and link hash as an attacker who knows the format would.
  const store = new SqliteStore(path);
  const [row] = await store.readAuditChain({ afterSeq: 3, limit: 1 });
  await store.close();
  const { bodyHash } = await import("../store/index.ts");
  const body = bodyHash({ ...row!, dataJson: row!.dataJson! });
  const hash = linkHash(row!, body);
  tamper(path, `UPDATE audit_events SET body_hash = '${body}', hash = '${hash}' WHERE seq = 4`);
  const report = await verify(path);
  assert.deepEqual(kinds(report), ["broken-link@5"]);
});

test("a deleted row is named as a gap", async () => {
  const path = await trail(10);
  tamper(path, "DELETE FROM audit_events WHERE seq IN (5, 6)");
  const report = await verify(path);
  assert.deepEqual(kinds(report), ["deleted@5"]);
  assert.match(report.problems[0]!.message, /seq 5\.\.6: deleted/);
});

test("deleting the oldest rows without a retention record is named", async () => {
  const path = await trail(10);
  tamper(path, "DELETE FROM audit_events WHERE seq <= 3");
  assert.deepEqual(kinds(await verify(path)), ["deleted@1"]);
});

test("two swapped rows are named as reordered", async () => {
  const path = await trail(10);
  tamper(
    path,
    "UPDATE audit_events SET seq = -1 WHERE seq = 4",
    "UPDATE audit_events SET seq = 4 WHERE seq = 5",
    "UPDATE audit_events SET seq = 5 WHERE seq = -1",
  );
  const report = await verify(path);
  assert.deepEqual(kinds(report), ["reordered@4", "reordered@5", "broken-link@6"]);
  assert.match(report.problems[0]!.message, /seq 4: reordered: moved 1 place earlier than written/);
  assert.match(report.problems[1]!.message, /seq 5: reordered: moved 1 place later than written/);
});

test("a forged row inserted with a correct hash is found where it breaks the chain", async () => {
  const path = await trail(10);
  const store = new SqliteStore(path);
  const [before] = await store.readAuditChain({ afterSeq: 5, limit: 1 });
  await store.close();
  // Make room after seq 6 (in two moves, to keep seqs unique), then chain a forged row to seq 6.
  const { bodyHash } = await import("../store/index.ts");
  const forged = {
    seq: 7,
    prevHash: before!.hash,
    id: "forged",
    time: before!.time,
    type: "action.allowed",
    sessionId: "s1",
    user: "alice@corp.example",
    connection: "pg-prod",
    effect: "allow",
    dataJson: '{"action":{"text":"SELECT nothing to see"}}',
  };
  const body = bodyHash(forged);
  tamper(
    path,
    "UPDATE audit_events SET seq = seq + 100 WHERE seq >= 7",
    "UPDATE audit_events SET seq = seq - 99 WHERE seq >= 107",
    `INSERT INTO audit_events VALUES (7, 'forged', '${forged.time}', 'action.allowed', 's1', 'alice@corp.example', 'pg-prod', 'allow', '${forged.dataJson}', '${forged.prevHash}', '${body}', '${linkHash(forged, body)}')`,
  );
  const report = await verify(path);
  // seq 7 itself is well formed, but it is not what seq 8 (the old seq 7) was chained to.
  assert.deepEqual(kinds(report), ["inserted@7", "reordered@8"]);
  assert.match(report.problems[0]!.message, /seq 7: inserted: seq 8 was chained to seq 6/);
  assert.match(report.problems[1]!.message, /seq 8\.\.11: reordered: moved 1 place later than written/);
});

test("a row removed from the end is found against the recorded head", async () => {
  const path = await trail(10);
  const { head } = await verify(path);
  tamper(path, "DELETE FROM audit_events WHERE seq = 10");
  assert.equal((await verify(path)).ok, true, "the chain alone cannot see a cut end");
  const report = await verify(path, { expectHead: head! });
  assert.deepEqual(kinds(report), ["head-mismatch@10"]);
  assert.match(report.problems[0]!.message, /the chain ends at seq 9/);
});

test("a body removed outside retention is named", async () => {
  const path = await trail(5);
  tamper(path, "UPDATE audit_events SET data = NULL, user = NULL WHERE seq = 2");
  assert.deepEqual(kinds(await verify(path)), ["unaccounted-redaction@2"]);
});

test("retention removes bodies per type and the oldest rows, records it, and the chain verifies", async () => {
  const path = join(dir, "retention.db");
  const store = new SqliteStore(path);
  const at = (day: number) => new Date(Date.UTC(2026, 0, day)).toISOString();
  await store.appendAudit([
    event(1, { time: at(1), type: "session.started", effect: null }),
    event(2, { time: at(1) }),
    event(3, { time: at(2), type: "action.denied", effect: "deny" }),
    event(4, { time: at(3) }),
    event(5, { time: at(20), type: "session.started", effect: null }),
    event(6, { time: at(20) }),
  ]);
  // On Jan 25: allowed actions are kept 10 days, everything else 20.
  const rules = { byType: { "action.allowed": 10 * 86_400 }, defaultSeconds: 20 * 86_400 };
  const summary = await applyRetention(store, rules, {
    now: new Date(Date.UTC(2026, 0, 25)),
    maxRowsPerStep: 2,
  });
  assert.deepEqual(summary, { steps: 2, redacted: 4, deleted: 4 });
  const rows = await store.readAuditChain({ limit: 100 });
  assert.deepEqual(
    rows.map((r) => [r.seq, r.type, r.dataJson === null ? "redacted" : "kept"]),
    [
      [5, "session.started", "kept"],
      [6, "action.allowed", "kept"],
      [7, "audit.retention_applied", "kept"],
      [8, "audit.retention_applied", "kept"],
    ],
  );
  const data = rows.slice(2).map((r) => JSON.parse(r.dataJson!) as Record<string, unknown>);
  assert.deepEqual(data[0]?.cutoffs, { by_type: { "action.allowed": at(15) }, default: at(5) });
  assert.deepEqual(data[0]?.redacted, { count: 2, first_seq: 1, last_seq: 2 });
  assert.equal((data[0]!.deleted as { to_seq: number }).to_seq, 2);
  assert.equal((data[1]!.deleted as { to_seq: number }).to_seq, 4);
  // The search no longer finds what retention removed.
  assert.deepEqual(
    (await store.searchAudit({})).map((r) => r.seq),
    [5, 6, 7, 8],
  );
  await store.close();
  const report = await verify(path);
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  assert.equal(report.deletedThrough, 4);
  assert.equal(report.firstSeq, 5);

  // Retention keeps the newest row and does nothing more when nothing else is past it.
  const again = new SqliteStore(path);
  assert.deepEqual(await applyRetention(again, rules, { now: new Date(Date.UTC(2026, 0, 25)) }), {
    steps: 0,
    redacted: 0,
    deleted: 0,
  });
  await again.close();
});

test("a body kept in the middle while older ones are removed: the redacted row still links", async () => {
  const path = join(dir, "retention-middle.db");
  const store = new SqliteStore(path);
  const at = (day: number) => new Date(Date.UTC(2026, 0, day)).toISOString();
  await store.appendAudit([
    event(1, { time: at(1), type: "action.denied", effect: "deny" }),
    event(2, { time: at(1) }),
    event(3, { time: at(2), type: "action.denied", effect: "deny" }),
  ]);
  await applyRetention(
    store,
    { byType: { "action.allowed": 86_400 } },
    { now: new Date(Date.UTC(2026, 0, 10)) },
  );
  const rows = await store.readAuditChain({ limit: 10 });
  assert.deepEqual(
    rows.map((r) => [r.seq, r.dataJson === null, r.user]),
    [
      [1, false, "alice@corp.example"],
      [2, true, null],
      [3, false, "alice@corp.example"],
      [4, false, null],
    ],
  );
  await store.close();
  const report = await verify(path);
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  assert.equal(report.redacted, 1);
  // A forged redaction of a type retention does not expire is still caught.
  tamper(path, "UPDATE audit_events SET data = NULL WHERE seq = 3");
  assert.deepEqual(kinds(await verify(path)), ["unaccounted-redaction@3"]);
});

test("an exported JSON-lines file verifies on its own and shows edits", async () => {
  const path = await trail(6);
  const store = new SqliteStore(path);
  const lines = (await store.readAuditChain({ limit: 100 })).map(toJsonLine);
  await store.close();
  const source = (text: string[]): ChainSource => ({
    async *rows() {
      for (const line of text) yield fromJsonLine(line);
    },
    async *retentionRecords() {},
  });
  assert.equal((await verifyChain(source(lines))).ok, true);
  assert.equal((await verifyChain(source(lines.slice(2)), { anchoredAtFirstRow: true })).ok, true);
  const edited = lines.map((l) => l.replace("SELECT 3", "SELECT 333"));
  assert.deepEqual(kinds(await verifyChain(source(edited))), ["edited@3"]);
});

test("the chain is over the stored text: injection strings and lone surrogates verify", async () => {
  const path = join(dir, "hygiene.db");
  const store = new SqliteStore(path);
  await store.appendAudit([
    event(1, { user: "eve\ud800@corp.example", data: { text: "x\n2026-01-01 allowed \u001b[2J\u2028" } }),
  ]);
  const [row] = await store.readAuditChain({ limit: 1 });
  assert.equal(row!.user, "eve\ufffd@corp.example");
  const line = toJsonLine(row!);
  assert.equal(line.split("\n").length, 2, "one line, ended by its LF");
  assert.ok(!line.includes("\u001b") && !line.includes("\u2028"), "no raw escape or line separator");
  assert.deepEqual(fromJsonLine(line), row);
  await store.close();
  assert.equal((await verify(path)).ok, true);
});
