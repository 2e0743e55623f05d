import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { storeChainSource, verifyChain } from "../../src/audit/verify-chain.ts";
import { openStore, PostgresStore, type Store } from "../../src/store/index.ts";
import { freePort } from "../harness/free-port.ts";
import { startPostgres, type TestPostgres } from "../harness/postgres-server.ts";
import { approval, nextPayload, record } from "../harness/store-contract.ts";

let pg: TestPostgres;
let databases = 0;
before(async () => {
  pg = await startPostgres();
});
after(() => pg?.stop());

async function admin<T>(database: string, work: (client: import("pg").Client) => Promise<T>): Promise<T> {
  const client = await pg.admin(database);
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new empty database; returns its URL (without the password). */
async function database(): Promise<{ name: string; url: string }> {
  const name = `pgstore_${++databases}`;
  await admin("postgres", (c) => c.query(`CREATE DATABASE ${name}`));
  return { name, url: `postgres://${pg.superuser}@${pg.host}:${pg.port}/${name}` };
}

const open = (url: string, log: (message: string) => void = () => {}): PostgresStore =>
  new PostgresStore({ url, password: pg.superPassword, log });

async function closeAll(...stores: Store[]): Promise<void> {
  for (const store of stores) await store.close();
}

test("two gateways appending concurrently produce one gap-free chain that verifies", async () => {
  const { url } = await database();
  const a = open(url);
  const b = open(url);
  try {
    // Both open the empty database at once: the schema is created once.
    await Promise.all([a.ready(), b.ready()]);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const store = i % 2 === 0 ? a : b;
      const batch = Array.from({ length: 5 }, (_, j) => record(i * 5 + j + 1, { sessionId: `g${i % 2}` }));
      writes.push(store.appendAudit(batch));
    }
    await Promise.all(writes);
    const rows = await a.readAuditChain({ limit: 1000 });
    assert.deepEqual(
      rows.map((r) => r.seq),
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    // Batches are never interleaved with another writer's.
    for (let i = 0; i < 300; i += 5) {
      assert.equal(new Set(rows.slice(i, i + 5).map((r) => r.sessionId)).size, 1);
    }
    const report = await verifyChain(storeChainSource(b, 64));
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.events, 300);
    assert.deepEqual(await b.auditHead(), { seq: 300, hash: rows.at(-1)?.hash });
  } finally {
    await closeAll(a, b);
  }
});

test("one store's appends keep their order, and text PostgreSQL refuses fails only its own append", async () => {
  const { url } = await database();
  const store = open(url);
  try {
    await store.ready();
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        store.appendAudit([record(i + 1, i === 7 ? { user: "nul \u0000 inside" } : {})]),
      ),
    );
    assert.deepEqual(
      results.map((r, i) => (r.status === "rejected" ? i : -1)).filter((i) => i >= 0),
      [7],
    );
    const rows = await store.readAuditChain({ limit: 100 });
    assert.deepEqual(
      rows.map((r) => r.id),
      Array.from({ length: 30 }, (_, i) => `id-${i + 1}`).filter((id) => id !== "id-8"),
    );
    assert.deepEqual(
      rows.map((r) => r.seq),
      Array.from({ length: 29 }, (_, i) => i + 1),
    );
  } finally {
    await store.close();
  }
});

test("verify names an edited, a deleted and a reordered row in PostgreSQL", async () => {
  const { name, url } = await database();
  const store = open(url);
  try {
    for (let i = 0; i < 10; i += 2) await store.appendAudit([record(i + 1), record(i + 2)]);
    const kinds = async () =>
      (await verifyChain(storeChainSource(store))).problems.map((p) => `${p.kind}@${p.seq}`);
    assert.deepEqual(await kinds(), []);

    await admin(name, (c) => c.query(`UPDATE audit_events SET data = '{"n":99}' WHERE seq = 5`));
    assert.deepEqual(await kinds(), ["edited@5"]);
    await admin(name, (c) => c.query(`UPDATE audit_events SET data = '{"n":5}' WHERE seq = 5`));
    assert.deepEqual(await kinds(), []);

    await admin(name, (c) => c.query(`UPDATE audit_events SET "user" = 'mallory' WHERE seq = 6`));
    assert.deepEqual(await kinds(), ["edited@6"]);
    await admin(name, (c) => c.query(`UPDATE audit_events SET "user" = 'alice@corp.example' WHERE seq = 6`));

    await admin(name, (c) =>
      c.query(`BEGIN; UPDATE audit_events SET seq = -1 WHERE seq = 3;
        UPDATE audit_events SET seq = 3 WHERE seq = 4; UPDATE audit_events SET seq = 4 WHERE seq = -1; COMMIT`),
    );
    const reordered = (await verifyChain(storeChainSource(store))).problems;
    // As in the SQLite store: the swapped pair is named (the link after it breaks as well).
    assert.deepEqual(
      reordered.map((p) => `${p.kind}@${p.seq}`).filter((k) => k.startsWith("reordered")),
      ["reordered@3", "reordered@4"],
    );

    await admin(name, (c) => c.query("DELETE FROM audit_events WHERE seq = 7"));
    const problems = (await verifyChain(storeChainSource(store))).problems;
    assert.ok(
      problems.some((p) => p.kind === "deleted" && p.seq === 7),
      JSON.stringify(problems),
    );
  } finally {
    await store.close();
  }
});

test("a notification from one store reaches another after its listening connection was killed", async () => {
  const { name, url } = await database();
  const logs: string[] = [];
  const listener = open(url, (m) => logs.push(m));
  const sender = open(url);
  try {
    let reconnected = 0;
    const got: string[] = [];
    await listener.subscribe("approvals", (p) => got.push(p), { onReconnect: () => reconnected++ });
    await sender.notify("approvals", "before");
    for (let i = 0; i < 100 && got.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ["before"]);

    const killed = await admin(name, (c) =>
      c.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
        [name],
      ),
    );
    assert.equal(killed.rowCount, 1);
    for (let i = 0; i < 250 && reconnected === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(reconnected, 1, logs.join("\n"));
    assert.ok(logs.some((l) => /listening connection was lost/.test(l)));
    assert.ok(logs.some((l) => /listening again/.test(l)));
    const next = await nextPayload(listener, "approvals");
    await sender.notify("approvals", "after");
    assert.equal(await next.payload, "after");
    await next.unsubscribe();
  } finally {
    await closeAll(listener, sender);
  }
});

test("fail closed: an unreachable store rejects appends, notifications and readiness", async () => {
  const port = await freePort();
  const store = new PostgresStore({
    url: `postgres://sluice@127.0.0.1:${port}/sluice`,
    password: "x",
    connectTimeoutMs: 1000,
  });
  try {
    await assert.rejects(store.ready(), /ECONNREFUSED/);
    await assert.rejects(store.appendAudit([record(1)]), /ECONNREFUSED/);
    await assert.rejects(store.notify("c", "x"), /ECONNREFUSED/);
    await assert.rejects(
      store.subscribe("c", () => {}),
      /ECONNREFUSED/,
    );
  } finally {
    await store.close();
  }
  await assert.rejects(store.appendAudit([record(1)]), /closed/);
});

test("fail closed: appends reject while the database refuses them and work again after", async () => {
  const { name, url } = await database();
  const store = open(url);
  try {
    await store.appendAudit([record(1)]);
    await admin(name, (c) => c.query("ALTER TABLE audit_events RENAME TO audit_events_away"));
    await assert.rejects(store.appendAudit([record(2)]));
    await admin(name, (c) => c.query("ALTER TABLE audit_events_away RENAME TO audit_events"));
    await store.appendAudit([record(3)]);
    assert.deepEqual(
      (await store.readAuditChain({ limit: 10 })).map((r) => [r.seq, r.id]),
      [
        [1, "id-1"],
        [2, "id-3"],
      ],
    );
  } finally {
    await store.close();
  }
});

test("the schema is versioned: reopening keeps it, a newer version is refused", async () => {
  const { name, url } = await database();
  const first = open(url);
  await first.appendAudit([record(1)]);
  await first.close();
  const again = open(url);
  assert.equal((await again.auditHead())?.seq, 1);
  await again.close();
  const version = await admin(name, (c) =>
    c.query("SELECT version FROM sluice_schema WHERE component = 'audit'"),
  );
  assert.deepEqual(version.rows, [{ version: 2 }]);

  await admin(name, (c) => c.query("UPDATE sluice_schema SET version = 99 WHERE component = 'audit'"));
  const newer = open(url);
  await assert.rejects(newer.ready(), /written by a newer Sluice \(format 99; this version reads 2\)/);
  await assert.rejects(newer.appendAudit([record(2)]), /newer Sluice/);
  await newer.close();
});

test("a database of schema version 1 gets the approvals table when opened, its chain untouched", async () => {
  const { name, url } = await database();
  const first = open(url);
  await first.appendAudit([record(1), record(2)]);
  await first.close();
  // Back to what version 1 wrote: the audit chain only.
  await admin(name, (c) =>
    c.query("DROP TABLE approvals; UPDATE sluice_schema SET version = 1 WHERE component = 'audit'"),
  );
  const [a, b] = [open(url), open(url)];
  try {
    // Two gateways opening it at once: the upgrade runs once.
    await Promise.all([a.ready(), b.ready()]);
    const version = await admin(name, (c) =>
      c.query("SELECT version FROM sluice_schema WHERE component = 'audit'"),
    );
    assert.deepEqual(version.rows, [{ version: 2 }]);
    const indexes = await admin(name, (c) =>
      c.query<{ indexname: string }>(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'approvals' ORDER BY indexname",
      ),
    );
    assert.deepEqual(
      indexes.rows.map((r) => r.indexname),
      ["approvals_command", "approvals_created", "approvals_pkey", "approvals_requester", "approvals_state"],
    );
    await a.insertApproval(approval(1));
    assert.deepEqual(await b.getApproval("ap-1"), approval(1));
    assert.deepEqual(
      (await b.readAuditChain({ limit: 10 })).map((r) => r.seq),
      [1, 2],
    );
    const report = await verifyChain(storeChainSource(b));
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  } finally {
    await closeAll(a, b);
  }
});

test("openStore takes the password from PGPASSWORD, never from the URL", async () => {
  const { url } = await database();
  const saved = process.env.PGPASSWORD;
  process.env.PGPASSWORD = pg.superPassword;
  const store = openStore({ kind: "postgres", url }, { log: () => {} });
  try {
    assert.equal(store.kind, "postgres");
    await store.appendAudit([record(1)]);
    assert.equal((await store.auditHead())?.seq, 1);
  } finally {
    await store.close();
    if (saved === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = saved;
  }
});
