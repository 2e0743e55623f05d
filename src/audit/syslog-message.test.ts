import assert from "node:assert/strict";
import { test } from "node:test";
import type { ChainedAuditRecord } from "../store/index.ts";
import { toJsonLine } from "./export-line.ts";
import {
  escapeParamValue,
  formatSyslogMessage,
  frameOctetCounted,
  headerField,
  syslogSeverity,
} from "./syslog-message.ts";

const record = (overrides: Partial<ChainedAuditRecord> = {}): ChainedAuditRecord => ({
  seq: 7,
  id: "evt-7",
  time: "2026-03-01T12:34:56.789Z",
  type: "action.allowed",
  sessionId: "sess-1",
  user: "carol@corp.example",
  connection: "pg-prod",
  effect: "allow",
  dataJson: JSON.stringify({ action: { text: "SELECT 1" } }),
  prevHash: "a".repeat(64),
  bodyHash: "b".repeat(64),
  hash: "c".repeat(64),
  ...overrides,
});

const header = { facility: 16, hostname: "gw-1", procId: "4242" };

/** RFC 5424 HEADER SP STRUCTURED-DATA SP MSG, with one SD element. */
const RFC5424 =
  /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[sluice@32473(?: [^ =\]"]{1,32}="(?:[^"\\\]]|\\["\\\]])*")*\]) (.*)$/s;

test("an event is one RFC 5424 message: PRI, version, time, host, app, pid, type, structured data, JSON", () => {
  const message = formatSyslogMessage(record(), header);
  const match = RFC5424.exec(message);
  assert.ok(match, message);
  const [, pri, time, host, app, procId, msgId, sd, msg] = match;
  assert.equal(pri, String(16 * 8 + 6));
  assert.equal(time, "2026-03-01T12:34:56.789Z");
  assert.equal(host, "gw-1");
  assert.equal(app, "sluice");
  assert.equal(procId, "4242");
  assert.equal(msgId, "action.allowed");
  assert.equal(
    sd,
    `[sluice@32473 seq="7" id="evt-7" hash="${"c".repeat(64)}" prev_hash="${"a".repeat(64)}" effect="allow" user="carol@corp.example" connection="pg-prod" session_id="sess-1"]`,
  );
  assert.deepEqual(JSON.parse(msg!), JSON.parse(toJsonLine(record())));
});

test("severity follows the event type", () => {
  assert.equal(syslogSeverity("action.denied"), 4);
  assert.equal(syslogSeverity("policy.reload_failed"), 3);
  assert.equal(syslogSeverity("audit.checkpoint"), 5);
  assert.equal(syslogSeverity("session.started"), 6);
  const denied = formatSyslogMessage(record({ type: "action.denied", effect: "deny" }), {
    ...header,
    facility: 13,
  });
  assert.ok(denied.startsWith(`<${13 * 8 + 4}>1 `));
});

test("a redacted event has no body fields in its structured data and null data", () => {
  const message = formatSyslogMessage(
    record({ sessionId: null, user: null, connection: null, effect: null, dataJson: null }),
    header,
  );
  const match = RFC5424.exec(message);
  assert.ok(match);
  assert.doesNotMatch(match[7]!, /user=|effect=|connection=/);
  assert.equal((JSON.parse(match[8]!) as { data: unknown }).data, null);
});

test("statement text cannot forge a message: MSG is printable ASCII and parses back to the same text", () => {
  const forged =
    "SELECT 1 -- \n<134>1 2026-01-01T00:00:00Z evil sluice 1 action.allowed - forged\r\n\u001b[2J\u001b[31mOK\u2028\u0085 é ✓ 😀";
  const message = formatSyslogMessage(
    record({ dataJson: JSON.stringify({ action: { text: forged } }) }),
    header,
  );
  assert.match(message, /^[\u0020-\u007e]*$/, "only printable ASCII in the whole message");
  const match = RFC5424.exec(message);
  assert.ok(match);
  const parsed = JSON.parse(match[8]!) as { data: { action: { text: string } } };
  assert.equal(parsed.data.action.text, forged);
});

test("structured data values escape quote, backslash and bracket, and show control characters as text", () => {
  assert.equal(escapeParamValue('a"b\\c]d'), 'a\\"b\\\\c\\]d');
  assert.equal(escapeParamValue("x\ny\u001bz\u2028"), "x\\u000ay\\u001bz\\u2028");
  const message = formatSyslogMessage(record({ user: 'mallory"] [fake@1 x="y' }), header);
  const match = RFC5424.exec(message);
  assert.ok(match, message);
  assert.match(match[7]!, / user="mallory\\"\\\] \[fake@1 x=\\"y" /);
  assert.equal(match[7]!.match(/\[/g)?.length, 2, "one SD element; the second [ is inside a value");
});

test("header fields are printable ASCII without spaces, bounded, never empty", () => {
  assert.equal(headerField("my host\n", 255), "my_host_");
  assert.equal(headerField("", 255), "-");
  assert.equal(headerField("x".repeat(40), 32).length, 32);
  const message = formatSyslogMessage(record({ time: "not a time" }), { ...header, hostname: "" });
  assert.ok(message.startsWith("<134>1 - - sluice 4242 "), message);
});

test("octet counting counts bytes, not characters", () => {
  const frame = frameOctetCounted("é✓");
  assert.equal(frame.toString("utf8"), "5 é✓");
  const message = formatSyslogMessage(record(), header);
  const framed = frameOctetCounted(message).toString("utf8");
  const space = framed.indexOf(" ");
  assert.equal(Number(framed.slice(0, space)), Buffer.byteLength(message));
  assert.equal(framed.slice(space + 1), message);
});
