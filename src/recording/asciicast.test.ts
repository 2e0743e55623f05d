import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SigningKey } from "../identity/index.ts";
import { toAsciicast } from "./asciicast.ts";
import { FileRecordingStore } from "./file-store.ts";
import { chunksOf, readRecording } from "./recording-file.ts";
import { SessionRecorder } from "./session-recorder.ts";
import { recordPostgresSession, tempDir, testClock, testKey, testSession } from "./test-support.ts";

let key: SigningKey;
let temp: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  key = await testKey();
  temp = await tempDir();
});
after(() => temp.remove());

async function chunks(id: string) {
  return chunksOf(readRecording(await readFile(join(temp.dir, `${id}.jsonl`))));
}

describe("asciicast v2 export", () => {
  it("exports a synthetic terminal session: header, then [time, code, data] events", async () => {
    const clock = testClock(Date.parse("2025-06-01T10:00:00.500Z"));
    const recorder = new SessionRecorder({
      store: new FileRecordingStore({ dir: temp.dir, fsync: false }),
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 10,
      now: clock.now,
    });
    recorder.begin(testSession("term-1"), { terminal: { width: 100, height: 30 } });
    clock.advance(50);
    recorder.record("term-1", { type: "output", data: "\u001b[32muser@host\u001b[0m:~$ " });
    clock.advance(1200);
    recorder.record("term-1", { type: "input", data: "ls\r" });
    clock.advance(5);
    recorder.record("term-1", { type: "output", data: "ls\r\nfile-ä.txt\r\n" });
    clock.advance(1000);
    recorder.record("term-1", { type: "resize", width: 120, height: 40 });
    clock.advance(250);
    await recorder.end("term-1", "exit");

    const cast = toAsciicast("term-1", await chunks("term-1"));
    const lines = cast.trimEnd().split("\n");
    assert.ok(cast.endsWith("\n"));
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(header, {
      version: 2,
      width: 100,
      height: 30,
      timestamp: Date.parse("2025-06-01T10:00:00Z") / 1000,
      title: "sluice term-1: alice@corp.example on pg-prod",
    });
    assert.deepEqual(
      lines.slice(1).map((l) => JSON.parse(l)),
      [
        [0.05, "o", "\u001b[32muser@host\u001b[0m:~$ "],
        [1.25, "i", "ls\r"],
        [1.255, "o", "ls\r\nfile-ä.txt\r\n"],
        [2.255, "r", "120x40"],
      ],
    );
  });

  it("exports a PostgreSQL session as its escaped text timeline", async () => {
    await recordPostgresSession(temp.dir, key, "pg-1");
    const cast = toAsciicast("pg-1", await chunks("pg-1"));
    const [headerLine, ...eventLines] = cast.trimEnd().split("\n");
    assert.deepEqual(JSON.parse(headerLine!), {
      version: 2,
      width: 80,
      height: 24,
      timestamp: Date.parse("2025-06-01T10:00:00Z") / 1000,
      title: "sluice pg-1: alice@corp.example on pg-prod",
    });
    const events = eventLines.map((l) => JSON.parse(l) as [number, string, string]);
    assert.deepEqual(
      events.map(([t, code]) => [t, code]),
      [
        [0, "o"],
        [0.12, "o"],
        [0.135, "o"],
        [1.135, "o"],
        [1.137, "o"],
        [1.637, "o"],
      ],
    );
    assert.match(
      events[1]![2],
      /> SELECT id, email FROM users LIMIT 2\r\n {24}allow {2}rules \[engineers-read\]/,
    );
    assert.match(
      events[3]![2],
      /DENY {2}rules \[no-drop-in-prod\] {2}rule-denied: DROP is not allowed in prod\r\n$/,
    );
  });
});
