import assert from "node:assert/strict";
import { test } from "node:test";
import type {
  AuditQuery,
  AuditRecord,
  ChainedAuditRecord,
  ChainHead,
  RetentionStep,
  Store,
  StoredApproval,
  StoredAuditRecord,
  Subscription,
} from "../store/index.ts";
import { AuditLog } from "./audit-log.ts";

class CountingStore implements Store {
  readonly kind = "memory";
  batches: AuditRecord[][] = [];
  failing = false;
  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    if (this.failing) throw new Error("disk full");
    this.batches.push([...records]);
  }
  async searchAudit(_query: AuditQuery): Promise<StoredAuditRecord[]> {
    return [];
  }
  async readAuditChain(): Promise<ChainedAuditRecord[]> {
    return [];
  }
  async auditHead(): Promise<ChainHead | undefined> {
    return undefined;
  }
  async applyAuditRetention(): Promise<RetentionStep | undefined> {
    return undefined;
  }
  async ready(): Promise<void> {}
  async notify(): Promise<void> {}
  async subscribe(): Promise<Subscription> {
    return { unsubscribe: async () => {} };
  }
  async insertApproval(): Promise<void> {}
  async getApproval(): Promise<StoredApproval | undefined> {
    return undefined;
  }
  async listApprovals(): Promise<StoredApproval[]> {
    return [];
  }
  async updateApproval(): Promise<boolean> {
    return false;
  }
  async close(): Promise<void> {}
}

const event = (id: string): AuditRecord => ({
  id,
  time: "2026-01-01T00:00:00.000Z",
  type: "action.allowed",
  sessionId: null,
  user: null,
  connection: null,
  effect: null,
  data: {},
});

test("events recorded in one turn of the event loop are committed together", async () => {
  const store = new CountingStore();
  const log = new AuditLog(store);
  await Promise.all([log.record(event("a")), log.record(event("b")), log.record(event("c"))]);
  await log.record(event("d"));
  assert.deepEqual(
    store.batches.map((b) => b.map((r) => r.id)),
    [["a", "b", "c"], ["d"]],
  );
});

test("every caller of a failed batch learns that its event is not durable", async () => {
  const store = new CountingStore();
  store.failing = true;
  const log = new AuditLog(store);
  const results = await Promise.allSettled([log.record(event("a")), log.record(event("b"))]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["rejected", "rejected"],
  );
  store.failing = false;
  await log.record(event("c"));
  assert.deepEqual(
    store.batches.map((b) => b.map((r) => r.id)),
    [["c"]],
  );
});

test("settle waits until everything recorded so far is written", async () => {
  const store = new CountingStore();
  const log = new AuditLog(store);
  void log.record(event("a"));
  void log.record(event("b"));
  await log.settle();
  assert.deepEqual(
    store.batches.map((b) => b.map((r) => r.id)),
    [["a", "b"]],
  );
  await log.settle(); // nothing pending: returns at once
});
