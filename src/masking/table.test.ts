import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCodes } from "../core/index.ts";
import type { ColumnDescriptor } from "./columns.ts";
import { type Detector, DetectorRegistry } from "./detectors/index.ts";
import { MaskingError } from "./errors.ts";
import { createMasker } from "./masker.ts";
import { createHasher } from "./strategies.ts";
import { HASH_KEY, rule } from "./test-support.ts";

const COLUMNS: ColumnDescriptor[] = [
  { name: "id", source: { table: "customers", column: "id" }, holdsText: false },
  { name: "email", source: { schema: "public", table: "customers", column: "email" } },
  { name: "phone", source: { table: "customers", column: "phone" } },
  { name: "note", source: { table: "customers", column: "note" } },
  { name: "total", holdsText: false }, // an expression: no source
];

describe("table masking", () => {
  it("masks column-rule cells with the rule's strategy and scans the others with detectors", () => {
    const masker = createMasker([
      rule("pii", { columns: ["customers.email"], detectors: ["email", "credit_card"] }),
      rule("phones", { columns: ["*.phone"], strategy: "partial" }),
    ]);
    const table = masker.forTable(COLUMNS);
    assert.deepEqual(
      table.columnMasks.map((m) => m?.strategy),
      [undefined, "redact", "partial", undefined, undefined],
    );
    const row = table.maskRow([
      "7",
      "a@b.com",
      "555-123-4567",
      "paid 4111 1111 1111 1111, cc x@y.org",
      "12.50",
    ]);
    assert.deepEqual(row.cells, ["7", "[MASKED]", "********4567", "paid [MASKED], cc [MASKED]", "12.50"]);
    assert.equal(row.masked, 3);
    assert.deepEqual(table.counts(), { values: 3, byRule: { pii: 2, phones: 1 } });
  });

  it("passes rows untouched (the same array) when nothing applies, and leaves NULLs alone", () => {
    const masker = createMasker([rule("m", { columns: ["orders.secret"] })]);
    const table = masker.forTable(COLUMNS);
    assert.equal(table.active, false);
    const cells = ["1", "a@b.com", null, "x", "2"];
    assert.equal(table.maskRow(cells).cells, cells);

    const active = createMasker([rule("m", { columns: ["customers.email"], detectors: ["email"] })]).forTable(
      COLUMNS,
    );
    const nulls = [null, null, null, null, null];
    assert.deepEqual(active.maskRow(nulls), { cells: nulls, masked: 0 });
    assert.deepEqual(active.counts(), { values: 0, byRule: { m: 0 } });
  });

  it("never matches columns without a source by column rules, only by detectors", () => {
    const table = createMasker([rule("m", { columns: ["total", "*.total"], detectors: ["email"] })]).forTable(
      [{ name: "total" }],
    );
    assert.deepEqual(table.maskRow(["42"]).cells, ["42"]);
    assert.deepEqual(table.maskRow(["me@x.io"]).cells, ["[MASKED]"]);
  });

  it("makes masked values of columns that cannot hold text null", () => {
    const masker = createMasker(
      [rule("ids", { columns: ["customers.id"], strategy: "hash" }), rule("ips", { detectors: ["ipv4"] })],
      { hashKey: HASH_KEY },
    );
    const table = masker.forTable([
      COLUMNS[0]!,
      { name: "addr", source: { table: "logins", column: "addr" }, holdsText: false }, // inet
      { name: "msg", source: { table: "logins", column: "msg" } },
    ]);
    assert.deepEqual(table.maskRow(["7", "10.0.0.1", "from 10.0.0.1"]).cells, [null, null, "from [MASKED]"]);
  });

  it("hash keeps equal values equal, so joins and counts still work", () => {
    const masker = createMasker([rule("h", { columns: ["customers.email"], strategy: "hash" })], {
      hashKey: HASH_KEY,
    });
    const table = masker.forTable([COLUMNS[1]!]);
    const a = table.maskRow(["alice@example.com"]).cells[0];
    const b = table.maskRow(["alice@example.com"]).cells[0];
    const c = table.maskRow(["bob@example.com"]).cells[0];
    assert.equal(a, createHasher(HASH_KEY)("alice@example.com"));
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it("the strongest strategy wins when rules overlap; every covering rule is counted", () => {
    const masker = createMasker(
      [
        rule("partial", { columns: ["customers.email"], strategy: "partial" }),
        rule("null", { columns: ["public.customers.email"], strategy: "null" }),
        rule("hash", { columns: ["*.email"], strategy: "hash" }),
      ],
      { hashKey: HASH_KEY },
    );
    const table = masker.forTable([COLUMNS[1]!]);
    assert.deepEqual(table.columnMasks[0], {
      strategy: "null",
      ruleIds: ["partial", "null", "hash"],
      ruleIndexes: [0, 1, 2],
    });
    assert.deepEqual(table.maskRow(["a@b.com"]).cells, [null]);
    assert.deepEqual(table.counts(), { values: 1, byRule: { partial: 1, null: 1, hash: 1 } });
  });

  it("detector spans: overlapping finds merge, strategies apply per span, null empties the cell", () => {
    const masker = createMasker(
      [
        rule("cards", { detectors: ["credit_card"], strategy: "partial" }),
        rule("mails", { detectors: ["email"], strategy: "hash" }),
        rule("ssn", { detectors: ["us_ssn"], strategy: "null" }),
      ],
      { hashKey: HASH_KEY },
    );
    const table = masker.forTable([{ name: "t" }]);
    const hash = createHasher(HASH_KEY);
    assert.deepEqual(table.maskRow(["card 4111111111111111 of a@b.io"]).cells, [
      `card ************1111 of ${hash("a@b.io")}`,
    ]);
    assert.deepEqual(table.maskRow(["ssn 123-45-6789"]).cells, [null]);
    // In a text stream a null span cannot empty anything: it gets the redact token.
    assert.equal(masker.maskText("ssn 123-45-6789").text, "ssn [MASKED]");
    assert.deepEqual(table.counts(), { values: 2, byRule: { cards: 1, mails: 1, ssn: 1 } });
  });

  it("overlapping spans of two detectors are replaced once", () => {
    const masker = createMasker([rule("net", { detectors: ["ipv4", "ipv6"] })]);
    assert.equal(masker.maskText("peer ::ffff:192.0.2.1 up").text, "peer [MASKED] up");
  });

  it("masks COPY text lines field by field, keeping untouched fields byte for byte", () => {
    const masker = createMasker([
      rule("pii", { columns: ["customers.email"], detectors: ["email"] }),
      rule("phones", { columns: ["customers.phone"], strategy: "null" }),
    ]);
    const table = masker.forTable(COLUMNS);
    assert.equal(
      table.maskCopyTextLine("7\ta@b.com\t555\tnote\\tfor x@y.org\\\\\t\\N\n"),
      "7\t[MASKED]\t\\N\tnote\\tfor [MASKED]\\\\\t\\N\n",
    );
    const untouched = "8\t\\N\t\\N\tcaf\\303\\251 \\x41\t1.5\r\n";
    assert.equal(table.maskCopyTextLine(untouched), untouched);
    assert.equal(table.maskCopyTextLine("\\.\n"), "\\.\n");
    assert.equal(
      table.maskCopyTextLine("9|a@b.com|NULL|x|1", { delimiter: "|", null: "NULL" }),
      "9|[MASKED]|NULL|x|1",
    );
    assert.deepEqual(table.counts(), { values: 4, byRule: { pii: 3, phones: 1 } });
  });

  it("streams COPY data in arbitrary chunks", () => {
    const table = createMasker([rule("pii", { columns: ["customers.email"] })]).forTable(COLUMNS.slice(0, 2));
    const lines = table.copyLines();
    let out = lines.push("1\ta@");
    out += lines.push("b.com\n2\tc@d.com\n3\t");
    out += lines.push("e@f.com");
    out += lines.end();
    assert.equal(out, "1\t[MASKED]\n2\t[MASKED]\n3\t[MASKED]");
    assert.equal(lines.counts().values, 3);
  });
});

describe("masking failures", () => {
  const boom: Detector = {
    name: "boom",
    find(text) {
      if (text.includes("boom")) throw new Error(`cannot scan ${text}`);
      return [];
    },
  };
  const registry = new DetectorRegistry();
  registry.register(boom);

  it("surface as MaskingError with the registered code, without the data", () => {
    const table = createMasker([rule("b", { detectors: ["boom"] })], { detectors: registry }).forTable([
      { name: "x" },
    ]);
    assert.deepEqual(table.maskRow(["fine"]).cells, ["fine"]);
    const error = (() => {
      try {
        table.maskRow(["boom secret@corp.example"]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(error instanceof MaskingError);
    assert.equal(error.code, ErrorCodes.maskingFailed);
    assert.equal(error.code, "SLUICE_MASKING_FAILED");
    assert.match(error.message, /detector boom failed \(Error\)/);
    assert.doesNotMatch(error.message, /secret/);
    assert.equal(error.cause, undefined);
  });

  it("end the result: after a failure every later row fails too", () => {
    const table = createMasker([rule("b", { detectors: ["boom"] })], { detectors: registry }).forTable([
      { name: "x" },
    ]);
    assert.throws(() => table.maskRow(["boom"]), MaskingError);
    assert.throws(() => table.maskRow(["fine"]), /already failed/);
    assert.throws(() => table.maskCopyTextLine("fine"), /already failed/);
  });

  it("reject rows of the wrong width and invalid spans", () => {
    const table = createMasker([rule("m", { detectors: ["email"] })]).forTable([
      { name: "a" },
      { name: "b" },
    ]);
    assert.throws(() => table.maskRow(["x"]), /1 values, the result has 2 columns/);
    const liar: Detector = { name: "liar", find: (text) => [{ start: 0, end: text.length + 5 }] };
    const masker = createMasker([rule("l", { detectors: ["liar"] })], {
      detectors: new DetectorRegistry([liar]),
    });
    assert.throws(() => masker.maskText("abc"), /invalid span/);
  });

  it("fail closed at build time: unknown detectors, bad patterns, hash without a usable key", () => {
    assert.throws(() => createMasker([rule("m", { detectors: ["nope"] })]), /unknown detector nope/);
    assert.throws(() => createMasker([rule("m", { columns: ["a.b.c.d"] })]), /invalid column pattern/);
    assert.throws(() => createMasker([rule("m", { columns: ["a"], strategy: "hash" })]), /hash key/);
    assert.throws(
      () => createMasker([rule("m", { columns: ["a"], strategy: "hash" })], { hashKey: "short" }),
      /at least 16 bytes/,
    );
    assert.throws(
      () => createMasker([{ ruleId: "m", columns: ["a"], detectors: [], strategy: "shuffle" as "null" }]),
      /unknown strategy/,
    );
    for (const build of [() => createMasker([rule("m", { detectors: ["nope"] })])]) {
      assert.throws(build, (e) => e instanceof MaskingError && e.code === "SLUICE_MASKING_FAILED");
    }
  });
  it("masks a derived column whole when any table column it is computed from is covered", () => {
    const masker = createMasker([
      rule("pii", { columns: ["customers.email"] }),
      rule("cards", { columns: ["payments.card"], strategy: "null" }),
    ]);
    const table = masker.forTable([
      {
        name: "upper",
        derivedFrom: [
          { table: "customers", column: "name" },
          { table: "customers", column: "email" },
        ],
      },
      { name: "label", derivedFrom: [{ table: "customers", column: "name" }] },
      {
        name: "both",
        derivedFrom: [
          { table: "customers", column: "email" },
          { table: "payments", column: "card" },
        ],
      },
    ]);
    assert.deepEqual(
      table.columnMasks.map((m) => m?.ruleIds),
      [["pii"], undefined, ["pii", "cards"]],
    );
    assert.deepEqual(table.maskRow(["A@B.COM", "Ann", "x"]).cells, ["[MASKED]", "Ann", null]);
  });

  it("applies every column rule, strongest strategy first, to a column whose origin is unknown", () => {
    const masker = createMasker([
      rule("a", { columns: ["customers.email"], strategy: "partial" }),
      rule("b", { columns: ["t.c"], strategy: "redact" }),
      rule("d", { detectors: ["email"] }),
    ]);
    const table = masker.forTable([{ name: "?column?", unresolved: true }]);
    assert.deepEqual(table.columnMasks[0], { strategy: "redact", ruleIds: ["a", "b"], ruleIndexes: [0, 1] });
    const detectorsOnly = createMasker([rule("d", { detectors: ["email"] })]).forTable([
      { name: "x", unresolved: true },
    ]);
    assert.equal(detectorsOnly.columnMasks[0], undefined);
  });

  it("masks single cells in place and nulls unreadable cells of covered columns", () => {
    const table = createMasker([
      rule("pii", { columns: ["customers.email"], detectors: ["email"] }),
    ]).forTable(COLUMNS);
    assert.equal(table.maskCell(1, "a@b.com"), "[MASKED]");
    assert.equal(table.maskCell(3, "write to x@y.org"), "write to [MASKED]");
    assert.equal(table.maskCell(3, "nothing here"), undefined);
    assert.equal(table.maskCell(3, null), undefined);
    assert.equal(table.maskUnreadableCell(1), true);
    assert.equal(table.maskUnreadableCell(0), false);
    assert.equal(table.watches(0), true);
    assert.deepEqual(table.counts(), { values: 3, byRule: { pii: 3 } });
    assert.throws(() => table.maskCell(9, "x"), MaskingError);
    assert.throws(() => table.maskCell(1, "a@b.com"), /already failed/);
  });
});
