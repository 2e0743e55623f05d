import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { type AuditRecord, SqliteStore } from "../store/index.ts";
import { SyslogSink } from "./syslog-sink.ts";

let dir: string;
let store: SqliteStore;
const logs: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-syslog-"));
  store = new SqliteStore(join(dir, "audit.db"));
  logs.length = 0;
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const events = (from: number, to: number, text = "SELECT 1"): AuditRecord[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    id: `e${from + i}`,
    time: new Date().toISOString(),
    type: "action.allowed",
    sessionId: "s",
    user: "u",
    connection: "c",
    effect: "allow",
    data: { text },
  }));

/** A port on loopback that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === "object" && address ? address.port : 0;
}

test("UDP: one datagram per event, each a whole RFC 5424 message; an event too large for a datagram is skipped", async () => {
  const udp: Socket = createSocket("udp4");
  const received: string[] = [];
  udp.on("message", (message) => received.push(message.toString("utf8")));
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
  try {
    await store.appendAudit(events(1, 2));
    await store.appendAudit(events(3, 3, "x".repeat(70_000)));
    await store.appendAudit(events(4, 4));
    const sink = new SyslogSink({
      store,
      transport: "udp",
      host: "127.0.0.1",
      port: udp.address().port,
      facility: 16,
      hostname: "gw",
      cursorPath: join(dir, "udp.cursor"),
      log: (m) => logs.push(m),
    });
    await sink.start();
    await sink.close();
    assert.equal(sink.exportedThrough, 4);
    for (let i = 0; i < 200 && received.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(
      received.map(
        (m) => /^<134>1 \S+ gw sluice \d+ action\.allowed \[sluice@32473 seq="(\d+)"/.exec(m)?.[1],
      ),
      ["1", "2", "4"],
    );
    assert.ok(logs.some((m) => m.includes("seq 3 is too large for a datagram")));
  } finally {
    udp.close();
  }
});

test("TCP: while nothing listens, a drain fails and the cursor stays", async () => {
  await store.appendAudit(events(1, 3));
  const sink = new SyslogSink({
    store,
    transport: "tcp",
    host: "127.0.0.1",
    port: await closedPort(),
    facility: 16,
    cursorPath: join(dir, "tcp.cursor"),
    pollMs: 60_000,
    log: (m) => logs.push(m),
  });
  assert.match(sink.name, /^syslog tcp:\/\/127\.0\.0\.1:\d+$/);
  await sink.start();
  await assert.rejects(sink.drain(), /ECONNREFUSED/);
  assert.equal(sink.exportedThrough, 0);
  await assert.rejects(sink.close(), /ECONNREFUSED/);
});
