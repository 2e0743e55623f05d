import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { AuditLog, gatewayEvent, storeChainSource, verifyChain } from "../audit/index.ts";
import {
  loadOrCreateSigningKey,
  PublicKeySet,
  type SigningKey,
  signAuditHead,
  verifyAuditHead,
} from "../identity/index.ts";
import { bodyHash, type ChainedAuditRecord, GENESIS_HASH, linkHash, SqliteStore } from "../store/index.ts";
import { AuditCheckpointer } from "./audit-checkpointer.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-checkpoint-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function keyPair(name: string): Promise<{ key: SigningKey; keys: PublicKeySet }> {
  const key = await loadOrCreateSigningKey(join(dir, `${name}.pem`));
  return { key, keys: await PublicKeySet.of([key.publicJwk]) };
}

async function verifyWith(path: string, keys: PublicKeySet) {
  const store = new SqliteStore(path);
  try {
    return await verifyChain(storeChainSource(store), {
      verifySignedHead: async (jws) => {
        const result = await verifyAuditHead(jws, keys);
        return result.ok ? { ok: true, head: result.head } : result;
      },
    });
  } finally {
    await store.close();
  }
}

/** A chain with a checkpoint after the fourth event and one more event after it. */
async function checkpointedTrail(name: string, key: SigningKey): Promise<string> {
  const path = join(dir, `${name}.db`);
  const store = new SqliteStore(path);
  const audit = new AuditLog(store);
  const checkpointer = new AuditCheckpointer(store, audit, key, 60_000, (m) => assert.fail(m));
  for (let i = 1; i <= 4; i++) await audit.record(gatewayEvent("policy.reloaded", { n: i }));
  await checkpointer.checkpoint();
  await checkpointer.checkpoint(); // the head already is a checkpoint: nothing new to sign
  await audit.record(gatewayEvent("policy.reloaded", { n: 5 }));
  await store.close();
  return path;
}

/** Rewrites the chain from `fromSeq` on with correct hashes, as someone who knows the format could. */
function rewrite(
  path: string,
  fromSeq: number,
  change: (row: ChainedAuditRecord) => ChainedAuditRecord,
): void {
  const db = new Database(path);
  const rows = db.prepare("SELECT * FROM audit_events ORDER BY seq").all() as Record<
    string,
    string | number
  >[];
  let prevHash = GENESIS_HASH;
  for (const raw of rows) {
    let row: ChainedAuditRecord = {
      seq: raw.seq as number,
      id: raw.id as string,
      time: raw.time as string,
      type: raw.type as string,
      sessionId: raw.session_id as string | null,
      user: raw.user as string | null,
      connection: raw.connection as string | null,
      effect: raw.effect as string | null,
      dataJson: raw.data as string,
      prevHash: raw.prev_hash as string,
      bodyHash: raw.body_hash as string,
      hash: raw.hash as string,
    };
    if (row.seq >= fromSeq) {
      row = change(row);
      const body = bodyHash({ ...row, dataJson: row.dataJson ?? "" });
      const hash = linkHash({ ...row, prevHash }, body);
      db.prepare(
        "UPDATE audit_events SET data = ?, prev_hash = ?, body_hash = ?, hash = ? WHERE seq = ?",
      ).run(row.dataJson, prevHash, body, hash, row.seq);
      row = { ...row, hash };
    }
    prevHash = row.hash;
  }
  db.close();
}

test("a checkpoint signs the head; verify checks the signature and that the chain still has that head", async () => {
  const { key, keys } = await keyPair("gateway");
  const path = await checkpointedTrail("plain", key);
  const report = await verifyWith(path, keys);
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  assert.deepEqual(report.checkpoints, { count: 1, verified: 1, unchecked: 0, lastVerifiedSeq: 5 });
});

test("a chain rewritten with correct hashes no longer matches its signed checkpoint", async () => {
  const { key, keys } = await keyPair("gateway");
  const path = await checkpointedTrail("rewritten", key);
  rewrite(path, 2, (row) => (row.seq === 2 ? { ...row, dataJson: '{"n":"rewritten"}' } : row));
  const report = await verifyWith(path, keys);
  assert.deepEqual(
    report.problems.map((p) => p.kind),
    ["bad-checkpoint"],
  );
  assert.match(
    report.problems[0]!.message,
    /^seq 5: bad checkpoint: it signs seq 4 with hash \w+, but that row's hash is \w+ \(the chain was rewritten\)$/,
  );
});

test("a checkpoint forged with another key is not counted as verified, and a broken signature is a problem", async () => {
  const { key, keys } = await keyPair("gateway");
  const other = await keyPair("intruder");
  const path = await checkpointedTrail("forged", key);
  // Sign what the chain has at seq 4 with the intruder's key instead.
  const store = new SqliteStore(path);
  const [four] = await store.readAuditChain({ afterSeq: 3, limit: 1 });
  await store.close();
  const jws = await signAuditHead(other.key, { seq: 4, hash: four!.hash });
  rewrite(path, 5, (row) =>
    row.seq === 5
      ? { ...row, dataJson: JSON.stringify({ head: { seq: 4, hash: four!.hash }, kid: other.key.kid, jws }) }
      : row,
  );
  const report = await verifyWith(path, keys);
  assert.equal(report.ok, true);
  assert.deepEqual(report.checkpoints, { count: 1, verified: 0, unchecked: 1, lastVerifiedSeq: null });

  const broken = `${jws.slice(0, -4)}AAAA`;
  rewrite(path, 5, (row) =>
    row.seq === 5
      ? {
          ...row,
          dataJson: JSON.stringify({ head: { seq: 4, hash: four!.hash }, kid: other.key.kid, jws: broken }),
        }
      : row,
  );
  const brokenReport = await verifyWith(path, other.keys);
  assert.deepEqual(
    brokenReport.problems.map((p) => p.message),
    ["seq 5: bad checkpoint: the signature does not verify"],
  );
});
