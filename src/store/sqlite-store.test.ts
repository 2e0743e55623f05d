import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SqliteStore } from "./sqlite-store.ts";
import type { AuditRecord } from "./store.ts";

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
