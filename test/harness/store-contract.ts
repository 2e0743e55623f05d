import assert from "node:assert/strict";
import { test } from "node:test";
import { applyRetention } from "../../src/audit/retention.ts";
import { storeChainSource, verifyChain } from "../../src/audit/verify-chain.ts";
import { type AuditRecord, bodyHash, GENESIS_HASH, linkHash, type Store } from "../../src/store/index.ts";

/** A fresh, empty store location; `open` may be called several times (several gateways). */
export interface StoreUnderTest {
  open(log?: (message: string) => void): Store;
  dispose(): Promise<void>;
}

export const record = (n: number, overrides: Partial<AuditRecord> = {}): AuditRecord => ({
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

/** Resolves with the next value `subscribe` hands over, or rejects after `ms`. */
export function nextPayload(
  store: Store,
  channel: string,
  ms = 5000,
): Promise<{ payload: Promise<string>; unsubscribe: () => Promise<void> }> {
  let resolve!: (payload: string) => void;
  const payload = new Promise<string>((res, rej) => {
    resolve = res;
    setTimeout(() => rej(new Error(`no notification on ${channel} within ${ms} ms`)), ms).unref();
  });
  return store.subscribe(channel, resolve).then((s) => ({ payload, unsubscribe: () => s.unsubscribe() }));
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The behaviour every `Store` implementation shares (the SQLite store's semantics). Each test
 * gets an empty store from `fresh`.
 */
export function storeContract(name: string, fresh: () => Promise<StoreUnderTest>): void {
  async function withStore(body: (store: Store, where: StoreUnderTest) => Promise<void>): Promise<void> {
    const where = await fresh();
    const store = where.open();
    try {
      await body(store, where);
    } finally {
      await store.close();
      await where.dispose();
    }
  }

  test(`${name}: appends records and finds them by user, connection, effect, type and time, oldest first`, () =>
    withStore(async (store) => {
      assert.equal(await store.auditHead(), undefined);
      await store.appendAudit([
        record(1),
        record(2, { user: "bob@corp.example", effect: "deny", type: "action.denied" }),
      ]);
      await store.appendAudit([record(3, { connection: "pg-dev" })]);
      const all = await store.searchAudit({});
      assert.deepEqual(
        all.map((r) => [r.seq, r.id]),
        [
          [1, "id-1"],
          [2, "id-2"],
          [3, "id-3"],
        ],
      );
      assert.deepEqual(all[0], {
        id: "id-1",
        time: "2026-01-01T00:00:01.000Z",
        type: "action.allowed",
        sessionId: "s1",
        user: "alice@corp.example",
        connection: "pg-prod",
        effect: "allow",
        seq: 1,
        data: { n: 1 },
      });
      assert.deepEqual(
        (await store.searchAudit({ user: "bob@corp.example" })).map((r) => r.data),
        [{ n: 2 }],
      );
      assert.deepEqual(
        (await store.searchAudit({ effect: "allow", connection: "pg-prod" })).map((r) => r.id),
        ["id-1"],
      );
      assert.deepEqual(
        (await store.searchAudit({ type: "action.denied" })).map((r) => r.id),
        ["id-2"],
      );
      assert.deepEqual(
        (await store.searchAudit({ since: new Date(Date.UTC(2026, 0, 1, 0, 0, 2)) })).map((r) => r.id),
        ["id-2", "id-3"],
      );
      assert.deepEqual(
        (await store.searchAudit({ limit: 2 })).map((r) => r.id),
        ["id-2", "id-3"],
      );
    }));

  test(`${name}: a batch that cannot be written is rejected whole`, () =>
    withStore(async (store) => {
      await store.appendAudit([record(1)]);
      await assert.rejects(store.appendAudit([record(2), record(3, { data: { n: 10n } })]));
      assert.deepEqual(
        (await store.searchAudit({})).map((r) => r.id),
        ["id-1"],
      );
      await store.appendAudit([record(4)]);
      assert.deepEqual(
        (await store.readAuditChain({ limit: 10 })).map((r) => r.seq),
        [1, 2],
      );
    }));

  test(`${name}: each row is chained to the one before it, across batches and reopening`, () =>
    withStore(async (first, where) => {
      await first.appendAudit([record(1), record(2)]);
      const second = where.open();
      try {
        // Text that must be stored and hashed byte for byte.
        const odd = record(3, {
          dataJson: '{"n":3,"text":"line\\nbreak \\u001b[2J ünï €"}',
          user: "lone \uD800 surrogate",
        });
        await second.appendAudit([odd]);
        const rows = await second.readAuditChain({ limit: 10 });
        assert.deepEqual(
          rows.map((r) => r.seq),
          [1, 2, 3],
        );
        assert.equal(rows[0]?.prevHash, GENESIS_HASH);
        assert.equal(rows[2]?.dataJson, odd.dataJson);
        assert.equal(rows[2]?.user, "lone \uFFFD surrogate");
        for (const [i, row] of rows.entries()) {
          if (i > 0) assert.equal(row.prevHash, rows[i - 1]?.hash);
          assert.equal(row.bodyHash, bodyHash({ ...row, dataJson: row.dataJson! }));
          assert.equal(row.hash, linkHash(row, row.bodyHash));
        }
        assert.deepEqual(await second.auditHead(), { seq: 3, hash: rows[2]?.hash });
        assert.deepEqual(await first.auditHead(), { seq: 3, hash: rows[2]?.hash });
      } finally {
        await second.close();
      }
    }));

  test(`${name}: two writers interleaving produce one chain without gaps`, () =>
    withStore(async (a, where) => {
      const b = where.open();
      try {
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 20; i++) {
          const store = i % 2 === 0 ? a : b;
          writes.push(store.appendAudit([record(i * 2 + 1), record(i * 2 + 2)]));
        }
        await Promise.all(writes);
        const rows = await b.readAuditChain({ limit: 100 });
        assert.deepEqual(
          rows.map((r) => r.seq),
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
        // Each batch stays together, in order.
        for (let i = 0; i < 40; i += 2) {
          assert.equal(Number(rows[i]!.id.slice(3)) + 1, Number(rows[i + 1]!.id.slice(3)));
        }
        const report = await verifyChain(storeChainSource(a, 7));
        assert.equal(report.ok, true, JSON.stringify(report.problems));
        assert.equal(report.events, 40);
      } finally {
        await b.close();
      }
    }));

  test(`${name}: reads the chain by page, type and time`, () =>
    withStore(async (store) => {
      await store.appendAudit(
        Array.from({ length: 6 }, (_, i) =>
          record(i + 1, i % 2 === 0 ? {} : { type: "policy.reloaded", effect: null, user: null }),
        ),
      );
      assert.deepEqual(
        (await store.readAuditChain({ afterSeq: 2, limit: 3 })).map((r) => r.seq),
        [3, 4, 5],
      );
      assert.deepEqual(
        (await store.readAuditChain({ type: "policy.reloaded", limit: 10 })).map((r) => r.seq),
        [2, 4, 6],
      );
      assert.deepEqual(
        (await store.readAuditChain({ since: new Date(Date.UTC(2026, 0, 1, 0, 0, 5)), limit: 10 })).map(
          (r) => r.seq,
        ),
        [5, 6],
      );
      const row = (await store.readAuditChain({ afterSeq: 1, limit: 1 }))[0];
      assert.equal(row?.user, null);
      assert.equal(row?.dataJson, '{"n":2}');
    }));

  test(`${name}: retention removes bodies and the oldest rows, records it, and the chain verifies`, () =>
    withStore(async (store) => {
      const at = (day: number) => new Date(Date.UTC(2026, 0, day)).toISOString();
      await store.appendAudit([
        record(1, { time: at(1), type: "session.started", effect: null }),
        record(2, { time: at(1) }),
        record(3, { time: at(2), type: "action.denied", effect: "deny" }),
        record(4, { time: at(3) }),
        record(5, { time: at(20), type: "session.started", effect: null }),
        record(6, { time: at(20) }),
      ]);
      const before = await store.readAuditChain({ limit: 10 });
      const rules = { byType: { "action.allowed": 10 * 86_400 }, defaultSeconds: 20 * 86_400 };
      const now = new Date(Date.UTC(2026, 0, 25));
      const summary = await applyRetention(store, rules, { now, maxRowsPerStep: 2 });
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
      assert.deepEqual(data[0]?.deleted, { count: 2, from_seq: 1, to_seq: 2, last_hash: before[1]?.hash });
      assert.deepEqual(data[1]?.deleted, { count: 2, from_seq: 3, to_seq: 4, last_hash: before[3]?.hash });
      assert.equal(rows[0]?.prevHash, before[3]?.hash);
      assert.deepEqual(
        (await store.searchAudit({})).map((r) => r.seq),
        [5, 6, 7, 8],
      );
      const report = await verifyChain(storeChainSource(store));
      assert.equal(report.ok, true, JSON.stringify(report.problems));
      assert.equal(report.deletedThrough, 4);
      assert.equal(report.firstSeq, 5);
      assert.deepEqual(await applyRetention(store, rules, { now }), { steps: 0, redacted: 0, deleted: 0 });
      // A type without a rule and no default is kept forever.
      assert.deepEqual(await applyRetention(store, { byType: { "action.denied": 1 } }, { now }), {
        steps: 0,
        redacted: 0,
        deleted: 0,
      });
    }));

  test(`${name}: a body kept in the middle while older ones go; the redacted row still links`, () =>
    withStore(async (store) => {
      const at = (day: number) => new Date(Date.UTC(2026, 0, day)).toISOString();
      await store.appendAudit([
        record(1, { time: at(1), type: "action.denied", effect: "deny" }),
        record(2, { time: at(1) }),
        record(3, { time: at(2), type: "audit.note", effect: null }),
        record(4, { time: at(2) }),
      ]);
      const step = await applyRetention(
        store,
        { byType: { "action.allowed": 86_400 } },
        { now: new Date(Date.UTC(2026, 0, 10)) },
      );
      assert.deepEqual(step, { steps: 1, redacted: 2, deleted: 0 });
      const rows = await store.readAuditChain({ limit: 10 });
      assert.deepEqual(
        rows.map((r) => [r.seq, r.dataJson === null ? "redacted" : "kept", r.user]),
        [
          [1, "kept", "alice@corp.example"],
          [2, "redacted", null],
          [3, "kept", "alice@corp.example"],
          [4, "redacted", null],
          [5, "kept", null],
        ],
      );
      const report = await verifyChain(storeChainSource(store));
      assert.equal(report.ok, true, JSON.stringify(report.problems));
      assert.deepEqual(
        (await store.searchAudit({ user: "alice@corp.example" })).map((r) => r.seq),
        [1, 3],
      );
    }));

  test(`${name}: a notification reaches every subscriber of its channel, on this and another store object`, () =>
    withStore(async (a, where) => {
      const b = where.open();
      try {
        const onA = await nextPayload(a, "approvals");
        const onB = await nextPayload(b, "approvals");
        const other: string[] = [];
        const otherSub = await b.subscribe("approvals.other", (p) => other.push(p));
        await a.notify("approvals", '{"id":"r-1","state":"approved"} ünï');
        assert.equal(await onA.payload, '{"id":"r-1","state":"approved"} ünï');
        assert.equal(await onB.payload, '{"id":"r-1","state":"approved"} ünï');
        await onB.unsubscribe();
        await onB.unsubscribe();
        await otherSub.unsubscribe();
        const later: string[] = [];
        const laterSub = await a.subscribe("approvals", (p) => later.push(p));
        await b.notify("approvals", "second");
        await b.notify("approvals", "third");
        for (let i = 0; i < 100 && later.length < 2; i++) await settle(20);
        assert.deepEqual(later, ["second", "third"]);
        assert.deepEqual(other, []);
        await laterSub.unsubscribe();
        await onA.unsubscribe();
      } finally {
        await b.close();
      }
    }));

  test(`${name}: a throwing handler is logged and does not stop the others`, async () => {
    const where = await fresh();
    const logs: string[] = [];
    const store = where.open((message) => logs.push(message));
    try {
      await store.subscribe("boom", () => {
        throw new Error("handler bug");
      });
      const next = await nextPayload(store, "boom");
      await store.notify("boom", "x");
      assert.equal(await next.payload, "x");
      assert.ok(
        logs.some((l) => l.includes("handler bug")),
        logs.join("\n"),
      );
    } finally {
      await store.close();
      await where.dispose();
    }
  });

  test(`${name}: channels and payloads outside the limits are refused`, () =>
    withStore(async (store) => {
      await assert.rejects(store.notify("", "x"), /notification channel/);
      await assert.rejects(store.notify("has space", "x"), /notification channel/);
      await assert.rejects(store.notify("x".repeat(49), "x"), /notification channel/);
      await assert.rejects(
        store.subscribe("bad;channel", () => {}),
        /notification channel/,
      );
      await assert.rejects(store.notify("ok", "€".repeat(2334)), /more than 7000 bytes/);
      await store.notify("ok", "x".repeat(7000));
    }));
}
