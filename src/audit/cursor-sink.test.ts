import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { type AuditRecord, type ChainedAuditRecord, SqliteStore } from "../store/index.ts";
import { CursorSink, type CursorSinkOptions } from "./cursor-sink.ts";

let dir: string;
let store: SqliteStore;
const logs: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-cursor-sink-"));
  store = new SqliteStore(join(dir, "audit.db"));
  logs.length = 0;
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const events = (from: number, to: number): AuditRecord[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    id: `e${from + i}`,
    time: new Date().toISOString(),
    type: "action.allowed",
    sessionId: "s",
    user: "u",
    connection: "c",
    effect: "allow",
    data: { n: from + i },
  }));

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A sink that records what it got, takes at most `take` rows a call and fails while `failing`. */
class RecordingSink extends CursorSink {
  readonly name = "test";
  readonly received: number[] = [];
  calls = 0;
  failing = 0;
  shutdowns = 0;
  constructor(
    options: Partial<CursorSinkOptions>,
    private readonly take = Number.POSITIVE_INFINITY,
  ) {
    super({
      store,
      cursorPath: join(dir, "sink", "test.cursor"),
      pollMs: 5,
      log: (m) => logs.push(m),
      ...options,
    });
  }
  protected override async deliver(rows: readonly ChainedAuditRecord[]): Promise<number> {
    this.calls++;
    if (this.failing > 0) {
      this.failing--;
      throw new Error("receiver down");
    }
    const taken = rows.slice(0, this.take);
    this.received.push(...taken.map((row) => row.seq));
    return taken.length;
  }
  protected override async shutdown(): Promise<void> {
    this.shutdowns++;
  }
  sendAgainAfter(seq: number): void {
    this.rewind(seq, "");
  }
}

const cursorOf = () =>
  (JSON.parse(readFileSync(join(dir, "sink", "test.cursor"), "utf8")) as { seq: number }).seq;

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

test("delivers in batches, moves the cursor only over what was delivered, and resumes from it", async () => {
  await store.appendAudit(events(1, 10));
  const first = new RecordingSink({ batchSize: 4 }, 3);
  await first.start();
  await first.drain();
  assert.deepEqual(first.received, range(1, 10));
  assert.equal(cursorOf(), 10);
  await first.close();
  assert.equal(first.shutdowns, 1);

  await store.appendAudit(events(11, 13));
  const second = new RecordingSink({});
  await second.start();
  await second.close();
  assert.deepEqual(second.received, range(11, 13), "nothing again, nothing skipped");
});

test("failures are retried with growing delays and nothing is lost", async () => {
  await store.appendAudit(events(1, 5));
  const sink = new RecordingSink({ retry: { initialMs: 20, maxMs: 80 } });
  sink.failing = 4;
  const started = Date.now();
  await sink.start();
  await until(() => sink.exportedThrough === 5, "delivery after the failures");
  // 20 + 40 + 80 + 80 ms, less up to 20% jitter.
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 150, `retried too fast: ${elapsed} ms`);
  assert.equal(sink.calls, 5);
  assert.deepEqual(sink.received, range(1, 5));
  assert.equal(logs.filter((m) => m.includes("cannot deliver, will retry: receiver down")).length, 1);
  assert.ok(logs.some((m) => m.includes("delivering again")));
  await sink.close();
});

test("a failed drain throws and leaves the cursor where it was", async () => {
  await store.appendAudit(events(1, 3));
  const sink = new RecordingSink({ pollMs: 60_000 });
  sink.failing = 100;
  await sink.start();
  await assert.rejects(sink.drain(), /receiver down/);
  assert.equal(sink.exportedThrough, 0);
  await assert.rejects(sink.close(), /receiver down/);
  assert.equal(sink.shutdowns, 1, "connections are released even when the last drain fails");
});

test("a rewind delivers the events after it again and is persisted", async () => {
  await store.appendAudit(events(1, 6));
  const sink = new RecordingSink({});
  await sink.start();
  await sink.drain();
  sink.sendAgainAfter(3);
  await sink.drain();
  assert.deepEqual(sink.received, [...range(1, 6), ...range(4, 6)]);
  assert.equal(cursorOf(), 6);
  sink.sendAgainAfter(10); // ahead of the cursor: ignored
  await sink.close();
  assert.equal(cursorOf(), 6);
});

test("an unreadable cursor stops the sink from starting, naming the file", async () => {
  const sink = new RecordingSink({});
  await sink.start();
  await sink.close();
  writeFileSync(join(dir, "sink", "test.cursor"), "{");
  await assert.rejects(new RecordingSink({}).start(), /audit sink cursor .*test\.cursor is unreadable/);
});
