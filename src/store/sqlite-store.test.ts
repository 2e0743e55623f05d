import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { bodyHash, GENESIS_HASH, linkHash } from "./chain.ts";
import { SqliteStore } from "./sqlite-store.ts";
import type { AuditRecord, StoredApproval } from "./store.ts";

const record = (n: number, overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  id: `id-${n}`,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  type: "action.allowed",
  sessionId: "s1",
  user: "alice@corp.example",
  connection: "pg-prod",
  effect: "allow",
  data: { n },
  ...overrides,
});

test("appends records and finds them by user, connection, effect and time, oldest first", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-store-"));
  const store = new SqliteStore(join(dir, "nested", "audit.db"));
  try {
    await store.appendAudit([
      record(1),
      record(2, { user: "bob@corp.example", effect: "deny", type: "action.denied" }),
    ]);
    await store.appendAudit([record(3, { connection: "pg-dev" })]);
    assert.deepEqual(
      (await store.searchAudit({})).map((r) => r.id),
      ["id-1", "id-2", "id-3"],
    );
    assert.deepEqual(
      (await store.searchAudit({ user: "bob@corp.example" })).map((r) => r.data),
      [{ n: 2 }],
    );
    assert.deepEqual(
      (await store.searchAudit({ effect: "allow", connection: "pg-prod" })).map((r) => r.id),
      ["id-1"],
    );
    assert.deepEqual(
      (await store.searchAudit({ since: new Date(Date.UTC(2026, 0, 1, 0, 0, 2)) })).map((r) => r.id),
      ["id-2", "id-3"],
    );
    assert.deepEqual(
      (await store.searchAudit({ limit: 2 })).map((r) => r.id),
      ["id-2", "id-3"],
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a batch that cannot be written is rejected whole", async () => {
  const store = new SqliteStore(":memory:");
  await store.appendAudit([record(1)]);
  // The second record cannot be serialised: nothing of the batch may land.
  await assert.rejects(store.appendAudit([record(2), record(3, { data: { n: 10n } })]));
  assert.deepEqual(
    (await store.searchAudit({})).map((r) => r.id),
    ["id-1"],
  );
  await store.close();
});

test("each row is chained to the one before it, across batches and reopening", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-store-"));
  const path = join(dir, "audit.db");
  try {
    const first = new SqliteStore(path);
    await first.appendAudit([record(1), record(2)]);
    await first.close();
    const second = new SqliteStore(path);
    await second.appendAudit([record(3, { dataJson: '{"n":3}' })]);
    const rows = await second.readAuditChain({ limit: 10 });
    assert.deepEqual(
      rows.map((r) => r.seq),
      [1, 2, 3],
    );
    assert.equal(rows[0]?.prevHash, GENESIS_HASH);
    for (const [i, row] of rows.entries()) {
      if (i > 0) assert.equal(row.prevHash, rows[i - 1]?.hash);
      assert.equal(row.bodyHash, bodyHash({ ...row, dataJson: row.dataJson! }));
      assert.equal(row.hash, linkHash(row, row.bodyHash));
    }
    assert.deepEqual(await second.auditHead(), { seq: 3, hash: rows[2]?.hash });
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the chain's hashes are fixed by its documented encoding", () => {
  const body = bodyHash({
    sessionId: "s1",
    user: "alice",
    connection: "pg",
    effect: "allow",
    dataJson: '{"a":1}',
  });
  const expectedBody = createHash("sha256")
    .update('["sluice.audit.body.v1","s1","alice","pg","allow"]\n{"a":1}')
    .digest("hex");
  assert.equal(body, expectedBody);
  const link = linkHash(
    { seq: 1, prevHash: GENESIS_HASH, id: "e1", time: "2026-01-01T00:00:00.000Z", type: "t" },
    body,
  );
  const expectedLink = createHash("sha256")
    .update(`["sluice.audit.v1",1,"${GENESIS_HASH}","e1","2026-01-01T00:00:00.000Z","t","${body}"]`)
    .digest("hex");
  assert.equal(link, expectedLink);
});

test("a second writer cannot fork the chain: the store re-reads the head and chains after it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-store-"));
  const path = join(dir, "audit.db");
  const a = new SqliteStore(path);
  const b = new SqliteStore(path);
  try {
    await a.appendAudit([record(1)]);
    await b.appendAudit([record(2)]);
    await a.appendAudit([record(3)]);
    const rows = await a.readAuditChain({ limit: 10 });
    assert.deepEqual(
      rows.map((r) => [r.seq, r.id]),
      [
        [1, "id-1"],
        [2, "id-2"],
        [3, "id-3"],
      ],
    );
    assert.equal(rows[2]?.prevHash, rows[1]?.hash);
  } finally {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a file of the unchained format is chained when opened; a newer format is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-store-"));
  const path = join(dir, "audit.db");
  try {
    const old = new Database(path);
    old.exec(`CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, time TEXT NOT NULL,
      type TEXT NOT NULL, session_id TEXT, user TEXT, connection TEXT, effect TEXT, data TEXT NOT NULL);
      CREATE INDEX audit_events_time ON audit_events(time);
      INSERT INTO audit_events (id, time, type, data) VALUES ('a', '2026-01-01T00:00:00.000Z', 'policy.reloaded', '{"x":1}');
      INSERT INTO audit_events (id, time, type, data) VALUES ('b', '2026-01-01T00:00:01.000Z', 'policy.reloaded', '{"x":2}');`);
    old.close();
    const store = new SqliteStore(path);
    await store.appendAudit([record(3)]);
    const rows = await store.readAuditChain({ limit: 10 });
    assert.deepEqual(
      rows.map((r) => [r.seq, r.id, r.dataJson]),
      [
        [1, "a", '{"x":1}'],
        [2, "b", '{"x":2}'],
        [3, "id-3", '{"n":3}'],
      ],
    );
    assert.equal(rows[1]?.prevHash, rows[0]?.hash);
    assert.equal(rows[2]?.prevHash, rows[1]?.hash);
    assert.equal((await store.searchAudit({ type: "policy.reloaded" })).length, 2);
    await store.close();

    const newer = new Database(path);
    newer.pragma("user_version = 99");
    newer.close();
    assert.throws(() => new SqliteStore(path), /written by a newer Sluice \(format 99/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a file of format 1 (before approvals) gets the approvals table when opened, its chain untouched", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-store-"));
  const path = join(dir, "audit.db");
  try {
    const first = new SqliteStore(path);
    await first.appendAudit([record(1), record(2)]);
    await first.close();
    const old = new Database(path);
    old.exec("DROP TABLE approvals");
    old.pragma("user_version = 1");
    old.close();

    const store = new SqliteStore(path);
    try {
      const pending: StoredApproval = {
        id: "ap-1",
        kind: "grant",
        state: "pending",
        requester: "alice@corp.example",
        connection: "pg-prod",
        commandHash: null,
        createdAt: "2026-01-01T00:00:00.000Z",
        expiresAt: "2026-01-01T01:00:00.000Z",
        version: 1,
        data: { groups: ["dba"] },
      };
      await store.insertApproval(pending);
      assert.deepEqual(await store.listApprovals({ state: "pending" }), [pending]);
      assert.deepEqual(
        (await store.readAuditChain({ limit: 10 })).map((r) => r.seq),
        [1, 2],
      );
    } finally {
      await store.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      assert.equal(check.pragma("user_version", { simple: true }), 2);
      const indexes = check
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'approvals' ORDER BY name",
        )
        .all() as { name: string }[];
      assert.deepEqual(
        indexes.map((i) => i.name),
        [
          "approvals_command",
          "approvals_created",
          "approvals_requester",
          "approvals_state",
          "sqlite_autoindex_approvals_1",
        ],
      );
    } finally {
      check.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
