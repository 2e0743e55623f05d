import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { escapeCopyText, formatCopyTextLine, parseCopyTextLine, unescapeCopyText } from "./copy-text.ts";

const values = (line: string, format = {}): (string | null)[] =>
  parseCopyTextLine(line, format).map((f) => f.value);

describe("COPY text format", () => {
  it("splits on tabs, reads \\N as NULL and keeps raw fields", () => {
    assert.deepEqual(values("1\talice\t\\N\t"), ["1", "alice", null, ""]);
    assert.deepEqual(
      parseCopyTextLine("a\\tb\tc").map((f) => f.raw),
      ["a\\tb", "c"],
    );
    assert.deepEqual(values(""), [""]);
  });

  it("reads every escape", () => {
    assert.equal(unescapeCopyText("a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh"), "a\tb\nc\rd\\e\bf\fg\vh");
    assert.equal(unescapeCopyText("\\101\\x42\\7"), "AB\x07");
    assert.equal(unescapeCopyText("caf\\303\\251"), "café"); // octal bytes of UTF-8
    assert.equal(unescapeCopyText("\\xc3\\xa9"), "é");
    assert.equal(unescapeCopyText("\\N in text, \\q"), "N in text, q");
    assert.equal(unescapeCopyText("\\xzz"), "xzz");
    assert.equal(unescapeCopyText("end\\"), "end");
  });

  it("compares the NULL marker with the raw field", () => {
    assert.deepEqual(values("\\N\t\\\\N\tx\\N"), [null, "\\N", "xN"]);
    assert.deepEqual(values("NULL|a\\|b|", { delimiter: "|", null: "NULL" }), [null, "a|b", ""]);
  });

  it("an escaped delimiter or a trailing backslash never splits", () => {
    assert.deepEqual(values("a\\\tb\tc"), ["a\tb", "c"]);
    assert.deepEqual(values("a\\"), ["a"]);
  });

  it("escapes as COPY TO writes", () => {
    assert.equal(escapeCopyText("a\tb\nc\\d\re"), "a\\tb\\nc\\\\d\\re");
    assert.equal(escapeCopyText("a|b", "|"), "a\\|b");
    assert.equal(escapeCopyText("plain"), "plain");
    assert.equal(formatCopyTextLine(["1", null, "x\ty"]), "1\t\\N\tx\\ty");
  });

  it("round-trips any values", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ unit: "grapheme" }), { nil: null }), { minLength: 1 }),
        (fields) => {
          assert.deepEqual(values(formatCopyTextLine(fields)), fields);
        },
      ),
    );
  });
});
