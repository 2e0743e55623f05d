import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { generate } from "selfsigned";
import { SyslogSink, type SyslogSinkOptions } from "../../src/audit/index.ts";
import { type AuditRecord, SqliteStore } from "../../src/store/index.ts";
import { freePort } from "../harness/free-port.ts";
import { type SyslogReceiver, startSyslogReceiver } from "../harness/syslog-receiver.ts";

/** Statement text written to look like syslog frames, log lines and terminal control. */
const INJECTIONS = [
  "SELECT 1 -- \n<134>1 2026-01-01T00:00:00.000Z gw sluice 1 action.allowed - forged message",
  "SELECT 2 -- \r\n12 <13>1 - - - - - x 48 <134>1 2026-01-01T00:00:00Z gw sluice 1 x - y",
  'SELECT $$\u001b[2J\u001b[31mOK\u001b]0;owned\u0007$$ -- ] " \\ \u2028\u0085',
];

/** HEADER, one sluice@32473 SD element, MSG; group 1 is PRI, 2 MSGID, 3 the SD element, 4 MSG. */
const RFC5424 =
  /^<(\d{1,3})>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z [!-~]{1,255} sluice \d+ ([!-~]{1,32}) (\[sluice@32473(?: [^ =\]"]{1,32}="(?:[^"\\\]]|\\["\\\]])*")*\]) (\{.*\})$/s;

interface Event {
  seq: number;
  type: string;
  hash: string;
  data: { text?: string } | null;
}

function parse(message: string): { pri: number; msgId: string; sd: string; event: Event } {
  const match = RFC5424.exec(message);
  assert.ok(match, `not an RFC 5424 message from sluice: ${message}`);
  const event = JSON.parse(match[4]!) as Event;
  return { pri: Number(match[1]), msgId: match[2]!, sd: match[3]!, event };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("the syslog audit sink against a real receiver", () => {
  let dir: string;
  let store: SqliteStore;
  const receivers: SyslogReceiver[] = [];
  const sinks: SyslogSink[] = [];
  const logs: string[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sluice-syslog-it-"));
    store = new SqliteStore(join(dir, "audit.db"));
    logs.length = 0;
  });
  afterEach(async () => {
    for (const sink of sinks.splice(0)) await sink.close().catch(() => {});
    for (const receiver of receivers.splice(0)) await receiver.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let nextSeq = 1;
  async function record(count: number, text = (seq: number) => `SELECT ${seq}`): Promise<void> {
    const records: AuditRecord[] = Array.from({ length: count }, () => {
      const seq = nextSeq++;
      return {
        id: `e${seq}`,
        time: new Date().toISOString(),
        type: seq % 3 === 0 ? "action.denied" : "action.allowed",
        sessionId: "sess",
        user: "mallory@corp.example",
        connection: "pg-prod",
        effect: seq % 3 === 0 ? "deny" : "allow",
        data: { text: text(seq) },
      };
    });
    await store.appendAudit(records);
  }
  beforeEach(() => {
    nextSeq = 1;
  });

  async function receiver(options: Parameters<typeof startSyslogReceiver>[0] = {}): Promise<SyslogReceiver> {
    const started = await startSyslogReceiver(options);
    receivers.push(started);
    return started;
  }

  function sink(port: number, options: Partial<SyslogSinkOptions> = {}): SyslogSink {
    const created = new SyslogSink({
      store,
      transport: "tcp",
      host: "127.0.0.1",
      port,
      facility: 16,
      hostname: "gw-test",
      cursorPath: join(dir, "syslog.cursor"),
      pollMs: 10,
      retry: { initialMs: 20, maxMs: 100 },
      log: (m) => logs.push(m),
      ...options,
    });
    sinks.push(created);
    return created;
  }

  const seqs = (r: SyslogReceiver) => r.messages.map((m) => parse(m).event.seq);

  test("sends every event as one octet-counted RFC 5424 message; injected text stays data", async () => {
    const listener = await receiver();
    await record(3);
    await record(INJECTIONS.length, (seq) => INJECTIONS[seq - 4]!);
    const live = sink(listener.port);
    await live.start();
    await listener.waitFor(() => listener.messages.length >= 6, "six messages");
    await record(2);
    await live.drain();
    await listener.waitFor(() => listener.messages.length >= 8, "eight messages");
    await live.close();

    assert.deepEqual(listener.errors, []);
    assert.deepEqual(seqs(listener), range(1, 8), "one message per event, none extra");
    for (const message of listener.messages) {
      assert.match(message, /^[\u0020-\u007e]*$/, "no line break or control character in any message");
      const { pri, msgId, sd, event } = parse(message);
      assert.equal(msgId, event.type);
      assert.equal(pri, 16 * 8 + (event.type === "action.denied" ? 4 : 6));
      assert.ok(sd.includes(` seq="${event.seq}" `) && sd.includes(` hash="${event.hash}" `), sd);
    }
    const texts = listener.messages.map((m) => parse(m).event.data?.text);
    assert.deepEqual(texts.slice(3, 6), INJECTIONS, "injected statements arrive as the exact data");
    assert.equal((JSON.parse(readFileSync(join(dir, "syslog.cursor"), "utf8")) as { seq: number }).seq, 8);
  });

  test("a receiver that is down at first receives every event once it comes up", async () => {
    const port = await freePort();
    await record(5);
    const live = sink(port);
    await live.start();
    await record(5);
    for (let i = 0; i < 200 && !logs.some((m) => m.includes("cannot deliver")); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(
      logs.some((m) => m.includes("cannot deliver, will retry")),
      logs.join("\n"),
    );
    assert.equal(live.exportedThrough, 0, "nothing counts as sent while the receiver is down");
    await new Promise((r) => setTimeout(r, 150));
    await record(2);

    const listener = await receiver({ port });
    await listener.waitFor(() => new Set(seqs(listener)).size >= 12, "all twelve events");
    await live.close();
    assert.deepEqual(
      [...new Set(seqs(listener))].sort((a, b) => a - b),
      range(1, 12),
    );
    assert.deepEqual(seqs(listener), range(1, 12), "in order, no duplicates when nothing broke");
    assert.ok(logs.some((m) => m.includes("delivering again")));
  });

  test("events written to a receiver that died without reading them are sent again", async () => {
    const port = await freePort();
    // Takes the connection (the kernel accepts the bytes) but never reads, then dies.
    const dying = await receiver({
      port,
      accept: (socket) => {
        setTimeout(() => socket.resetAndDestroy(), 100);
        return false;
      },
    });
    await record(4);
    const live = sink(port);
    await live.start();
    await dying.waitFor(() => live.exportedThrough === 4, "the write to be accepted");
    await dying.waitFor(() => logs.some((m) => m.includes("connection lost")), "the loss to be noticed");
    await dying.close();
    receivers.splice(receivers.indexOf(dying), 1);
    await record(2);

    const listener = await receiver({ port });
    await listener.waitFor(() => new Set(seqs(listener)).size >= 6, "all six events");
    await live.close();
    assert.deepEqual(
      [...new Set(seqs(listener))].sort((a, b) => a - b),
      range(1, 6),
    );
    assert.ok(
      logs.some((m) => m.includes("connection lost; sending again from seq 1")),
      logs.join("\n"),
    );
  });

  test("after a restart the sink continues from its cursor: nothing lost, nothing twice", async () => {
    const listener = await receiver();
    await record(3);
    const first = sink(listener.port);
    await first.start();
    await first.drain();
    await listener.waitFor(() => listener.messages.length >= 3, "three messages");
    await first.close();
    await record(4);
    const second = sink(listener.port);
    await second.start();
    await second.close();
    await listener.waitFor(() => listener.messages.length >= 7, "seven messages");
    assert.deepEqual(seqs(listener), range(1, 7));
    assert.equal(listener.connections, 2);
  });

  test("TLS (RFC 5425): verifies the receiver's certificate against the configured CA", async () => {
    const pems = await generate([{ name: "commonName", value: "syslog.test" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }],
    });
    const listener = await receiver({ tls: { cert: pems.cert, key: pems.private } });
    await record(3, (seq) => (seq === 2 ? INJECTIONS[0]! : `SELECT ${seq}`));

    const untrusting = sink(listener.port, { transport: "tls", cursorPath: join(dir, "untrusting.cursor") });
    await untrusting.start();
    await assert.rejects(untrusting.drain(), /self[- ]signed|certificate/i);
    assert.equal(untrusting.exportedThrough, 0);
    await untrusting.close().catch(() => {});

    const trusting = sink(listener.port, { transport: "tls", ca: pems.cert });
    await trusting.start();
    await trusting.drain();
    await listener.waitFor(() => listener.messages.length >= 3, "three messages over TLS");
    await trusting.close();
    assert.deepEqual(listener.errors, []);
    assert.deepEqual(seqs(listener), range(1, 3));
    assert.equal(parse(listener.messages[1]!).event.data?.text, INJECTIONS[0]);
  });
});
