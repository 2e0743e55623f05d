import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeChunk } from "./chunk.ts";
import { resultEvent, type StoredEvent } from "./events.ts";
import { escapeText, renderChunk, renderHeader } from "./timeline.ts";

const START = Date.parse("2025-06-01T10:00:00.000Z");
const chunkOf = (event: StoredEvent, t = 1234) => makeChunk("s-1", 2, t, event, "0".repeat(64));

/** Every rendered line is one line of visible text: no control characters at all. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe("escapeText", () => {
  it("makes line breaks, ANSI escapes, C1 controls, separators and bidi overrides visible", () => {
    assert.equal(escapeText("a\nb\r\tc"), "a\\nb\\r\\tc");
    assert.equal(escapeText("\u001b[2J\u001b]0;owned\u0007"), "\\x1b[2J\\x1b]0;owned\\x07");
    assert.equal(escapeText("x\u009by\u007f"), "x\\x9by\\x7f");
    assert.equal(escapeText("a\u2028b\u2029c"), "a\\u{2028}b\\u{2029}c");
    assert.equal(escapeText("evil\u202Etxt.exe"), "evil\\u{202e}txt.exe");
    assert.equal(escapeText("plain text, ümlauts and 日本語 stay"), "plain text, ümlauts and 日本語 stay");
  });
});

describe("renderChunk", () => {
  it("renders a statement on one line with its decision, whatever its text holds", () => {
    const forged =
      "SELECT 1;\n10:00:09.000    +9.000s  > SELECT 'harmless'\n                        allow  rules [x]  rule-allowed\u001b[1A\u001b[2K\r";
    const lines = renderChunk(
      chunkOf({
        type: "statement",
        text: forged,
        effect: "deny",
        reason_code: "rule-denied",
        reason: "no\nreally",
        rule_ids: ["no-drop"],
      }),
      START,
    );
    assert.equal(lines.length, 2);
    for (const line of lines) assert.doesNotMatch(line, CONTROL);
    assert.equal(
      lines[0],
      "10:00:01.234    +1.234s  > SELECT 1;\\n10:00:09.000    +9.000s  > SELECT 'harmless'\\n                        allow  rules [x]  rule-allowed\\x1b[1A\\x1b[2K\\r",
    );
    assert.equal(lines[1], `${" ".repeat(24)}DENY  rules [no-drop]  rule-denied: no\\nreally`);
  });

  it("renders a result as an aligned table with escaped cells and column names", () => {
    const lines = renderChunk(
      chunkOf(
        resultEvent({
          columns: ["id", "note\nforged"],
          rows: [
            ["1", "line one\nline two"],
            ["22", null],
            ["3", "\u001b[31mred"],
          ],
          rowsOmitted: 7,
          commandTag: "SELECT 10",
          durationMs: 3,
        }),
      ),
      START,
    );
    for (const line of lines) assert.doesNotMatch(line, CONTROL);
    const pad = " ".repeat(24);
    assert.deepEqual(lines, [
      "10:00:01.234    +1.234s  < SELECT 10  10 rows  3 ms",
      `${pad}id | note\\nforged`,
      `${pad}---+-------------------`,
      `${pad}1  | line one\\nline two`,
      `${pad}22 | (null)`,
      `${pad}3  | \\x1b[31mred`,
      `${pad}(7 more rows not recorded)`,
    ]);
  });

  it("cuts long cells, and renders errors, terminal data, markers and the end", () => {
    const long = renderChunk(
      chunkOf(resultEvent({ columns: ["c"], rows: [["x".repeat(100)]], durationMs: 1 })),
      START,
      {
        maxCellWidth: 10,
      },
    );
    assert.equal(long[3], `${" ".repeat(24)}xxxxxxxxx…`);
    assert.deepEqual(
      renderChunk(
        chunkOf(
          resultEvent({ error: { code: "42P01", message: 'relation "x"\ndoes not exist' }, durationMs: 2 }),
        ),
        START,
      ),
      ['10:00:01.234    +1.234s  < ERROR 42P01: relation "x"\\ndoes not exist  2 ms'],
    );
    assert.deepEqual(renderChunk(chunkOf({ type: "output", data: "\u001b[2J$ " }), START), [
      '10:00:01.234    +1.234s  o "\\x1b[2J$ "',
    ]);
    assert.deepEqual(
      renderChunk(chunkOf({ type: "truncated", reason: "rows", limit: 100, kept: 100, omitted: 5 }), START),
      ["10:00:01.234    +1.234s  ! truncated: 5 more rows not recorded (limit 100 per statement)"],
    );
    assert.deepEqual(
      renderChunk(
        chunkOf({
          type: "end",
          reason: "client\nclosed",
          ended_at: "x",
          dropped_events: 0,
          dropped_bytes: 0,
        }),
        START,
      ),
      ["10:00:01.234    +1.234s  * session end: client\\nclosed"],
    );
  });

  it("escapes the header's user, connection and address too", () => {
    const lines = renderHeader("s-1", {
      type: "start",
      format: "sluice.recording.v1",
      session_id: "s-1",
      user: "eve\n@corp",
      groups: ["a\u001b"],
      principal_kind: "human",
      on_behalf_of: null,
      connection: "pg",
      protocol: "postgres",
      client_address: "127.0.0.1:1",
      started_at: "2025-06-01T10:00:00.000Z",
      limits: { max_bytes: 1, max_rows_per_statement: 1 },
      terminal: null,
    });
    assert.equal(lines.length, 3);
    for (const line of lines) assert.doesNotMatch(line, CONTROL);
    assert.match(lines[1]!, /^user eve\\n@corp {2}groups \[a\\x1b\]/);
  });
});
