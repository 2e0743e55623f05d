import assert from "node:assert/strict";
import { appendFile, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import type { SigningKey } from "../identity/index.ts";
import { chunkHash, GENESIS_HASH } from "./chunk.ts";
import { resultEvent } from "./events.ts";
import { FileRecordingStore } from "./file-store.ts";
import { chunksOf, readRecording, sealOf } from "./recording-file.ts";
import { SessionRecorder } from "./session-recorder.ts";
import type { RecordingStore } from "./store.ts";
import {
  recordPostgresSession,
  sealChecker,
  tempDir,
  testClock,
  testKey,
  testSession,
} from "./test-support.ts";
import { describeStatus, verifyRecording } from "./verify-recording.ts";

let key: SigningKey;
let temp: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  key = await testKey();
  temp = await tempDir();
});
after(() => temp.remove());

async function contentsOf(id: string) {
  return readRecording(await readFile(join(temp.dir, `${id}.jsonl`)));
}

describe("SessionRecorder", () => {
  it("writes a hash chain of chunks with time offsets, then a seal signed by the gateway key", async () => {
    await recordPostgresSession(temp.dir, key, "s-chain");
    const contents = await contentsOf("s-chain");
    const chunks = chunksOf(contents);
    assert.deepEqual(
      chunks.map((c) => [c.seq, c.t, c.dir, c.event.type]),
      [
        [1, 0, "meta", "start"],
        [2, 120, "in", "statement"],
        [3, 135, "out", "result"],
        [4, 1135, "in", "statement"],
        [5, 1137, "out", "result"],
        [6, 1637, "meta", "end"],
      ],
    );
    assert.equal(chunks[0]?.prev, GENESIS_HASH);
    for (const [i, chunk] of chunks.entries()) {
      assert.equal(chunk.hash, chunkHash("s-chain", chunk));
      if (i > 0) assert.equal(chunk.prev, chunks[i - 1]?.hash);
    }
    const start = chunks[0]?.event;
    assert.equal(start?.type === "start" && start.user, "alice@corp.example");
    assert.equal(start?.type === "start" && start.started_at, "2025-06-01T10:00:00.000Z");

    const seal = sealOf(contents);
    assert.ok(seal);
    assert.equal(seal.chunks, 6);
    assert.equal(seal.last_hash, chunks[5]?.hash);
    assert.equal(seal.kid, key.kid);
    const payload = JSON.parse(Buffer.from(seal.jws.split(".")[1] ?? "", "base64url").toString("utf8"));
    assert.deepEqual(payload, { session_id: "s-chain", chunks: 6, last_hash: chunks[5]?.hash });
    const header = JSON.parse(Buffer.from(seal.jws.split(".")[0] ?? "", "base64url").toString("utf8"));
    assert.deepEqual(header, { alg: "ES256", kid: key.kid, typ: "sluice-recording-seal+jws" });

    const report = await verifyRecording("s-chain", contents, { verifySeal: await sealChecker(key) });
    assert.equal(report.status, "sealed");
    assert.equal(report.seal?.signature, "verified");
    assert.equal(report.verifiedThrough, 6);
    assert.deepEqual(report.problems, []);
    assert.match(describeStatus(report), /^sealed and verified: 6 chunks$/);
  });

  it("leaves an unsealed recording that verifies when the gateway stops before the end", async () => {
    await recordPostgresSession(temp.dir, key, "s-unsealed", { seal: false });
    const report = await verifyRecording("s-unsealed", await contentsOf("s-unsealed"), {
      verifySeal: await sealChecker(key),
    });
    assert.equal(report.status, "unsealed");
    assert.equal(report.chunks, 5);
    assert.equal(report.verifiedThrough, 5);
    assert.equal(report.seal, null);
    assert.match(describeStatus(report), /unsealed \(gateway stopped\?\)/);
  });

  it("a torn last line (killed mid-write) is reported as torn, and the chunks before it verify", async () => {
    await recordPostgresSession(temp.dir, key, "s-torn", { seal: false });
    await appendFile(join(temp.dir, "s-torn.jsonl"), '{"seq":6,"t":1700,"dir":"out","event":{"type":"res');
    const report = await verifyRecording("s-torn", await contentsOf("s-torn"));
    assert.equal(report.status, "unsealed");
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.tornTail, { line: 6, bytes: 50 });
    assert.equal(report.verifiedThrough, 5);
    assert.match(describeStatus(report), /unsealed \(gateway stopped\?\).*torn last line 6 ignored/);
  });

  it("keeps at most max_rows_per_statement rows and records a truncation marker", async () => {
    const clock = testClock();
    const recorder = new SessionRecorder({
      store: new FileRecordingStore({ dir: temp.dir, fsync: false }),
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 2,
      now: clock.now,
    });
    recorder.begin(testSession("s-rows"));
    recorder.record(
      "s-rows",
      resultEvent({
        columns: ["n"],
        rows: [["1"], ["2"], ["3"], ["4"]],
        commandTag: "SELECT 4",
        durationMs: 1,
      }),
    );
    recorder.record(
      "s-rows",
      resultEvent({ columns: ["n"], rows: [["1"]], rowsOmitted: 10, commandTag: "SELECT 11", durationMs: 1 }),
    );
    recorder.record(
      "s-rows",
      resultEvent({ columns: ["n"], rows: [["1"]], commandTag: "SELECT 1", durationMs: 1 }),
    );
    assert.equal((await recorder.end("s-rows", "done")).sealed, true);
    const contents = await contentsOf("s-rows");
    const events = chunksOf(contents).map((c) => c.event);
    assert.deepEqual(
      events.map((e) => e.type),
      ["start", "result", "truncated", "result", "truncated", "result", "end"],
    );
    assert.deepEqual(events[1], {
      type: "result",
      columns: ["n"],
      rows: [["1"], ["2"]],
      rows_omitted: 2,
      command_tag: "SELECT 4",
      error: null,
      duration_ms: 1,
    });
    assert.deepEqual(events[2], { type: "truncated", reason: "rows", limit: 2, kept: 2, omitted: 2 });
    assert.deepEqual(events[4], { type: "truncated", reason: "rows", limit: 2, kept: 1, omitted: 10 });
    const report = await verifyRecording("s-rows", contents, { verifySeal: await sealChecker(key) });
    assert.equal(report.status, "sealed");
  });

  it("stops at max_bytes_per_session with one size marker; the end, seal and chain still verify", async () => {
    const max = 32 * 1024;
    const recorder = new SessionRecorder({
      store: new FileRecordingStore({ dir: temp.dir, fsync: false }),
      signingKey: key,
      maxBytesPerSession: max,
      maxRowsPerStatement: 10,
    });
    recorder.begin(testSession("s-size"), { terminal: { width: 80, height: 24 } });
    for (let i = 0; i < 100; i++) recorder.record("s-size", { type: "output", data: "x".repeat(1000) });
    const sealed = await recorder.end("s-size", "client closed");
    assert.equal(sealed.sealed, true);
    const { size } = await stat(join(temp.dir, "s-size.jsonl"));
    assert.ok(size <= max, `${size} > ${max}`);
    const contents = await contentsOf("s-size");
    const events = chunksOf(contents).map((c) => c.event);
    assert.equal(events.filter((e) => e.type === "truncated").length, 1);
    const marker = events.find((e) => e.type === "truncated");
    assert.deepEqual(marker, { type: "truncated", reason: "size", limit: max });
    const outputs = events.filter((e) => e.type === "output").length;
    assert.ok(outputs > 20 && outputs < 32, String(outputs));
    const end = events.at(-1);
    assert.equal(end?.type, "end");
    assert.equal(end?.type === "end" && end.dropped_events, 100 - outputs);
    const report = await verifyRecording("s-size", contents, { verifySeal: await sealChecker(key) });
    assert.equal(report.status, "sealed");
    assert.equal(report.seal?.signature, "verified");
  });

  it("coalesces the events of one turn into one append and never waits for the disk in record", async () => {
    const appends: string[] = [];
    let release: () => void = () => {};
    const slow: RecordingStore = {
      location: "memory",
      create: async () => {},
      append: async (_id, text) => {
        appends.push(text);
        await new Promise<void>((resolve) => (release = resolve));
      },
      close: async () => {},
      list: async () => [],
      read: async () => Buffer.alloc(0),
    };
    const recorder = new SessionRecorder({
      store: slow,
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 10,
      flushIntervalMs: 0,
    });
    recorder.begin(testSession("s-slow"));
    for (let i = 0; i < 50; i++)
      assert.equal(recorder.record("s-slow", { type: "output", data: `line ${i}\n` }), true);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(appends.length, 1, "one write for the whole turn");
    assert.equal(appends[0]?.split("\n").length, 52);
    recorder.record("s-slow", { type: "output", data: "later" });
    const drained = recorder.drain("s-slow");
    release();
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await drained;
    assert.equal(appends.length, 2);
  });

  it("writes the events of several turns once per flush interval, and at once when drained", async () => {
    const appends: string[] = [];
    const store: RecordingStore = {
      location: "memory",
      create: async () => {},
      append: async (_id, text) => {
        appends.push(text);
      },
      close: async () => {},
      list: async () => [],
      read: async () => Buffer.alloc(0),
    };
    const recorder = new SessionRecorder({
      store,
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 10,
      flushIntervalMs: 50,
    });
    recorder.begin(testSession("s-batched"));
    for (let turn = 0; turn < 5; turn++) {
      recorder.record("s-batched", { type: "output", data: `turn ${turn}\n` });
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(appends.length, 0, "nothing is written before the interval ends");
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(appends.length, 1, "one write for the whole interval");
    assert.equal(appends[0]?.split("\n").length, 7);
    recorder.record("s-batched", { type: "output", data: "later" });
    const started = Date.now();
    await recorder.drain("s-batched");
    assert.ok(Date.now() - started < 40, "drain writes without waiting for the interval");
    assert.equal(appends.length, 2);
  });

  it("signals backpressure above the high-water mark and fails the recording when the buffer overflows", async () => {
    const failures: string[] = [];
    const stuck: RecordingStore = {
      location: "memory",
      create: async () => {},
      append: () => new Promise<void>(() => {}),
      close: async () => {},
      list: async () => [],
      read: async () => Buffer.alloc(0),
    };
    const recorder = new SessionRecorder({
      store: stuck,
      signingKey: key,
      maxBytesPerSession: 1024 ** 3,
      maxRowsPerStatement: 10,
      highWaterBytes: 10_000,
      maxBufferedBytes: 50_000,
      onFailure: (f) => failures.push(f.sessionId),
    });
    recorder.begin(testSession("s-stuck"));
    const accepted: boolean[] = [];
    for (let i = 0; i < 60; i++)
      accepted.push(recorder.record("s-stuck", { type: "output", data: "y".repeat(1000) }));
    assert.equal(accepted[0], true);
    assert.equal(accepted.at(-1), false);
    assert.ok(accepted.indexOf(false) > 5);
    assert.deepEqual(failures, ["s-stuck"]);
    const failure = recorder.failure("s-stuck");
    assert.ok(failure instanceof SluiceError);
    assert.equal(failure.code, ErrorCodes.recordingUnavailable);
    assert.match(failure.message, /not keeping up/);
    assert.equal(recorder.health().ok, false);
    await assert.rejects(recorder.drain("s-stuck"), /not keeping up/);
    const result = await recorder.end("s-stuck", "closed");
    assert.equal(result.sealed, false);
  });

  it("reports a store that refuses writes through onFailure, failure(), drain(), health() and end()", async () => {
    const failures: SluiceError[] = [];
    let broken = true;
    const store: RecordingStore = {
      location: "flaky disk",
      create: async () => {},
      append: async () => {
        if (broken) throw new Error("ENOSPC: no space left on device");
      },
      close: async () => {},
      list: async () => [],
      read: async () => Buffer.alloc(0),
    };
    const recorder = new SessionRecorder({
      store,
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 10,
      onFailure: (f) => failures.push(f.error),
    });
    assert.equal(recorder.health().ok, true);
    recorder.begin(testSession("s-fail"));
    await assert.rejects(recorder.drain("s-fail"), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, "SLUICE_RECORDING_UNAVAILABLE");
      assert.match(error.message, /recording of session s-fail failed \(flaky disk\): ENOSPC/);
      return true;
    });
    assert.equal(failures.length, 1);
    assert.equal(recorder.record("s-fail", { type: "input", data: "ls\n" }), false);
    assert.deepEqual(recorder.health(), {
      ok: false,
      liveSessions: 1,
      failedRecordings: 1,
      lastError: failures[0]?.message ?? null,
    });
    const result = await recorder.end("s-fail", "closed");
    assert.equal(result.sealed, false);
    assert.match(result.error ?? "", /ENOSPC/);
    // The store recovers: the next recording succeeds and health is good again.
    broken = false;
    recorder.begin(testSession("s-ok"));
    assert.equal((await recorder.end("s-ok", "closed")).sealed, true);
    assert.equal(recorder.health().ok, true);
    assert.equal(recorder.health().failedRecordings, 1);
  });

  it("refuses unknown sessions and duplicate begins, and ignores events after the end", async () => {
    const recorder = new SessionRecorder({
      store: new FileRecordingStore({ dir: temp.dir, fsync: false }),
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 10,
    });
    assert.throws(() => recorder.record("nobody", { type: "input", data: "x" }), /not being recorded/);
    assert.throws(() => recorder.begin(testSession("../escape")), /not a valid recording id/);
    recorder.begin(testSession("s-life"));
    assert.throws(() => recorder.begin(testSession("s-life")), /already being recorded/);
    const ending = recorder.end("s-life", "closed");
    assert.equal(recorder.record("s-life", { type: "input", data: "late" }), true);
    assert.equal(recorder.end("s-life", "again"), ending);
    assert.equal((await ending).chunks, 2);
    assert.equal(recorder.record("s-life", { type: "input", data: "later" }), true);
    const report = await verifyRecording("s-life", await contentsOf("s-life"));
    assert.equal(report.chunks, 2);
    assert.equal(report.status, "sealed");
    // A recording file is never overwritten.
    const again = new SessionRecorder({
      store: new FileRecordingStore({ dir: temp.dir, fsync: false }),
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 10,
    });
    again.begin(testSession("s-life"));
    await assert.rejects(again.drain("s-life"), /EEXIST/);
  });

  it("close() ends and seals every live recording", async () => {
    const recorder = new SessionRecorder({
      store: new FileRecordingStore({ dir: temp.dir, fsync: true }),
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 10,
    });
    recorder.begin(testSession("s-close-1"));
    recorder.begin(testSession("s-close-2"));
    await recorder.close();
    assert.equal(recorder.health().liveSessions, 0);
    for (const id of ["s-close-1", "s-close-2"]) {
      const contents = await contentsOf(id);
      const end = chunksOf(contents).at(-1)?.event;
      assert.equal(end?.type === "end" && end.reason, "gateway stopped");
      assert.equal(
        (await verifyRecording(id, contents, { verifySeal: await sealChecker(key) })).status,
        "sealed",
      );
    }
  });
});
