import assert from "node:assert/strict";
import { test } from "node:test";
import { applyRetention } from "../../src/audit/retention.ts";
import { storeChainSource, verifyChain } from "../../src/audit/verify-chain.ts";
import {
  type AuditRecord,
  bodyHash,
  GENESIS_HASH,
  linkHash,
  type Store,
  type StoredApproval,
} from "../../src/store/index.ts";

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

/** A pending command approval created `n` seconds into 2026; overrides change any field. */
export const approval = (n: number, overrides: Partial<StoredApproval> = {}): StoredApproval => ({
  id: `ap-${n}`,
  kind: "command",
  state: "pending",
  requester: "alice@corp.example",
  connection: "pg-prod",
  commandHash: "a".repeat(64),
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  expiresAt: new Date(Date.UTC(2026, 0, 1, 1, 0, n)).toISOString(),
  version: 1,
  data: { n },
  ...overrides,
});

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

  test(`${name}: an approval is stored and read back exactly, nulls and data JSON intact`, () =>
    withStore(async (store) => {
      assert.equal(await store.getApproval("ap-1"), undefined);
      const command = approval(1, {
        data: {
          command: "DELETE FROM orders WHERE note = 'line\nbreak \u0000 ünï €'",
          facts: { "sql.tables": ["orders"], rows: 12, exact: 0.1, big: 2 ** 53 - 1, none: null },
          reviewers: [],
          votes: [{ by: "bob@corp.example", at: "2026-01-01T00:00:05.000Z", approve: true }],
          nested: { empty: {}, flags: [true, false, null] },
        },
      });
      const grant = approval(2, { kind: "grant", commandHash: null, data: {} });
      await store.insertApproval(command);
      await store.insertApproval(grant);
      assert.deepEqual(await store.getApproval("ap-1"), command);
      const storedGrant = await store.getApproval("ap-2");
      assert.deepEqual(storedGrant, grant);
      assert.equal(storedGrant?.commandHash, null);
      assert.equal(await store.getApproval("ap-3"), undefined);
    }));

  test(`${name}: approvals are listed by every given field, most recent first, up to the limit`, () =>
    withStore(async (store) => {
      const hashB = "b".repeat(64);
      // Inserted out of order: the list is ordered by createdAt, not by insertion.
      await store.insertApproval(approval(3, { state: "approved" }));
      await store.insertApproval(approval(1));
      await store.insertApproval(approval(5, { requester: "bob@corp.example", commandHash: hashB }));
      await store.insertApproval(approval(2, { kind: "grant", commandHash: null, connection: "pg-dev" }));
      await store.insertApproval(approval(4, { state: "denied", connection: "pg-dev", commandHash: hashB }));
      const ids = async (query: Parameters<Store["listApprovals"]>[0]) =>
        (await store.listApprovals(query)).map((a) => a.id);
      assert.deepEqual(await ids({}), ["ap-5", "ap-4", "ap-3", "ap-2", "ap-1"]);
      assert.deepEqual(await ids({ state: "pending" }), ["ap-5", "ap-2", "ap-1"]);
      assert.deepEqual(await ids({ kind: "grant" }), ["ap-2"]);
      assert.deepEqual(await ids({ kind: "command", state: "pending" }), ["ap-5", "ap-1"]);
      assert.deepEqual(await ids({ requester: "bob@corp.example" }), ["ap-5"]);
      assert.deepEqual(await ids({ connection: "pg-dev" }), ["ap-4", "ap-2"]);
      assert.deepEqual(await ids({ connection: "pg-prod", commandHash: hashB }), ["ap-5"]);
      assert.deepEqual(await ids({ connection: "pg-dev", commandHash: hashB, state: "denied" }), ["ap-4"]);
      assert.deepEqual(await ids({ connection: "pg-dev", commandHash: hashB, state: "pending" }), []);
      assert.deepEqual(await ids({ requester: "carol@corp.example" }), []);
      assert.deepEqual(await ids({ limit: 2 }), ["ap-5", "ap-4"]);
      assert.deepEqual(await ids({ state: "pending", limit: 1 }), ["ap-5"]);
      assert.deepEqual(
        (await store.listApprovals({ kind: "grant" }))[0],
        approval(2, {
          kind: "grant",
          commandHash: null,
          connection: "pg-dev",
        }),
      );
      await assert.rejects(store.listApprovals({ limit: 0 }), /limit/);
      await assert.rejects(store.listApprovals({ limit: 1.5 }), /limit/);
    }));

  test(`${name}: approvals are listed 100 by default and at most 1000 at a time`, () =>
    withStore(async (store) => {
      for (let i = 1; i <= 1001; i += 50) {
        const batch = Array.from({ length: Math.min(50, 1002 - i) }, (_, j) => approval(i + j));
        await Promise.all(batch.map((a) => store.insertApproval(a)));
      }
      const defaults = await store.listApprovals({});
      assert.equal(defaults.length, 100);
      assert.equal(defaults[0]?.id, "ap-1001");
      assert.equal(defaults[99]?.id, "ap-902");
      const capped = await store.listApprovals({ limit: 5000 });
      assert.equal(capped.length, 1000);
      assert.equal(capped.at(-1)?.id, "ap-2");
    }));

  test(`${name}: a duplicate approval id is refused and the stored one kept`, () =>
    withStore(async (store) => {
      await store.insertApproval(approval(1));
      await assert.rejects(store.insertApproval(approval(1, { state: "approved", data: { other: true } })));
      // A new approval starts at version 1; a malformed one is refused before it is written.
      await assert.rejects(store.insertApproval(approval(2, { version: 2 })), /version 1/);
      await assert.rejects(store.insertApproval(approval(3, { createdAt: "yesterday" })), /createdAt/);
      await assert.rejects(store.insertApproval(approval(4, { data: { n: 10n } })));
      assert.deepEqual(await store.getApproval("ap-1"), approval(1));
      assert.deepEqual(
        (await store.listApprovals({})).map((a) => a.id),
        ["ap-1"],
      );
    }));

  test(`${name}: an approval update is a compare-and-set: of two racing writers exactly one wins`, () =>
    withStore(async (a, where) => {
      const b = where.open();
      try {
        await a.insertApproval(approval(1));
        const seenByA = await a.getApproval("ap-1");
        const seenByB = await b.getApproval("ap-1");
        assert.equal(seenByA?.version, 1);
        assert.equal(seenByB?.version, 1);
        const byA = approval(1, { state: "approved", version: 2, data: { n: 1, votes: ["a"] } });
        const byB = approval(1, { state: "denied", version: 2, data: { n: 1, votes: ["b"] } });
        const results = await Promise.all([a.updateApproval(byA, 1), b.updateApproval(byB, 1)]);
        assert.deepEqual(
          results.filter((applied) => applied),
          [true],
          `exactly one writer wins: ${JSON.stringify(results)}`,
        );
        const winner = results[0] ? byA : byB;
        assert.deepEqual(await a.getApproval("ap-1"), winner);
        assert.deepEqual(await b.getApproval("ap-1"), winner);

        // The loser re-reads and tries again from the version it now sees.
        const retry = approval(1, { state: "used", version: 3, data: { n: 1, ran: true } });
        assert.equal(await (results[0] ? b : a).updateApproval(retry, 2), true);
        assert.equal(await a.updateApproval(approval(1, { state: "expired", version: 3 }), 2), false);
        assert.deepEqual(await b.getApproval("ap-1"), retry);

        // Versions must advance by exactly one; an unknown id updates nothing.
        await assert.rejects(a.updateApproval(approval(1, { version: 5 }), 3), /version/);
        await assert.rejects(a.updateApproval(approval(1, { version: 3 }), 3), /version/);
        assert.equal(await a.updateApproval(approval(9, { version: 2 }), 1), false);
        assert.deepEqual(await a.getApproval("ap-1"), retry);
        assert.equal(await a.getApproval("ap-9"), undefined);
      } finally {
        await b.close();
      }
    }));

  test(`${name}: many concurrent updates from the same version: one applies, the rest report the conflict`, () =>
    withStore(async (a, where) => {
      const b = where.open();
      try {
        await a.insertApproval(approval(1));
        const attempts = Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).updateApproval(approval(1, { state: `s${i}`, version: 2 }), 1),
        );
        const results = await Promise.all(attempts);
        assert.equal(results.filter((applied) => applied).length, 1, JSON.stringify(results));
        const stored = await b.getApproval("ap-1");
        assert.equal(stored?.version, 2);
        assert.equal(stored?.state, `s${results.indexOf(true)}`);
      } finally {
        await b.close();
      }
    }));

  test(`${name}: a closed store refuses approval reads and writes`, async () => {
    const where = await fresh();
    const store = where.open();
    try {
      await store.insertApproval(approval(1));
    } finally {
      await store.close();
    }
    try {
      await assert.rejects(store.getApproval("ap-1"));
      await assert.rejects(store.listApprovals({}));
      await assert.rejects(store.insertApproval(approval(2)));
      await assert.rejects(store.updateApproval(approval(1, { version: 2 }), 1));
    } finally {
      await where.dispose();
    }
  });
}
