import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportPKCS8, generateKeyPair } from "jose";
import type { SessionContext } from "../core/index.ts";
import { importSigningKey, PublicKeySet, type SigningKey, verifyRecordingSeal } from "../identity/index.ts";
import { resultEvent, statementEvent } from "./events.ts";
import { FileRecordingStore } from "./file-store.ts";
import { SessionRecorder } from "./session-recorder.ts";
import type { RecordingStore } from "./store.ts";
import type { SealSignatureCheck } from "./verify-recording.ts";

export async function testKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return importSigningKey(await exportPKCS8(privateKey));
}

export async function sealChecker(key: SigningKey): Promise<(jws: string) => Promise<SealSignatureCheck>> {
  const keys = await PublicKeySet.of([key.publicJwk]);
  return async (jws) => {
    const result = await verifyRecordingSeal(jws, keys);
    return result.ok ? { ok: true, seal: result.seal } : result;
  };
}

export function testSession(id: string, user = "alice@corp.example"): SessionContext {
  return {
    id,
    principal: { user, groups: ["engineers"], kind: "human" },
    connection: {
      name: "pg-prod",
      protocol: "postgres",
      labels: { env: "prod" },
      target: { host: "127.0.0.1", port: 5432 },
    },
    clientAddress: "127.0.0.1:50000",
  };
}

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-recording-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A controllable clock in ms since the epoch. */
export function testClock(start = Date.parse("2025-06-01T10:00:00.000Z")) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number): void => {
      now += ms;
    },
  };
}

/**
 * Records a small PostgreSQL session into `dir` (or `store`): an allowed SELECT with two rows, a
 * denied DROP, and (unless `seal` is false) ends and seals it.
 */
export async function recordPostgresSession(
  dir: string,
  key: SigningKey,
  id: string,
  options: { seal?: boolean; user?: string; maxRowsPerStatement?: number; store?: RecordingStore } = {},
): Promise<SessionRecorder> {
  const clock = testClock();
  const recorder = new SessionRecorder({
    store: options.store ?? new FileRecordingStore({ dir, fsync: false }),
    signingKey: key,
    maxBytesPerSession: 1024 ** 2,
    maxRowsPerStatement: options.maxRowsPerStatement ?? 100,
    now: clock.now,
  });
  recorder.begin(testSession(id, options.user));
  clock.advance(120);
  recorder.record(
    id,
    statementEvent(
      { text: "SELECT id, email FROM users LIMIT 2" },
      {
        effect: "allow",
        reasonCode: "rule-allowed",
        reason: "engineers may read",
        ruleIds: ["engineers-read"],
        policyVersion: "sha256:0",
      },
    ),
  );
  clock.advance(15);
  recorder.record(
    id,
    resultEvent({
      columns: ["id", "email"],
      rows: [
        ["1", "a***@example.com"],
        ["2", null],
      ],
      commandTag: "SELECT 2",
      durationMs: 15,
    }),
  );
  clock.advance(1000);
  recorder.record(
    id,
    statementEvent(
      { text: "DROP TABLE users" },
      {
        effect: "deny",
        reasonCode: "rule-denied",
        reason: "DROP is not allowed in prod",
        ruleIds: ["no-drop-in-prod"],
        policyVersion: "sha256:0",
      },
    ),
  );
  clock.advance(2);
  recorder.record(id, resultEvent({ error: { code: "42501", message: "denied by policy" }, durationMs: 0 }));
  clock.advance(500);
  if (options.seal ?? true) await recorder.end(id, "client closed");
  else await recorder.drain(id);
  return recorder;
}
