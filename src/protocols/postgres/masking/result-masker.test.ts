import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Action, MaskRequirement } from "../../../core/index.ts";
import { BUILT_IN_DETECTORS, createMasker, DetectorRegistry } from "../../../masking/index.ts";
import { parseErrorFields } from "../codec/backend-messages.ts";
import { BackendScanner } from "../codec/backend-scanner.ts";
import { PgCatalog } from "./catalog.ts";
import { ResultMasker } from "./result-masker.ts";
import type { StatementPlan } from "./statement-plan.ts";

const TABLE_OID = 777;
const TEXT = 25;
const INT4 = 23;
const JSONB = 3802;

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function rowDescription(columns: { name: string; attnum: number; type: number; format?: number }[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, columns.length])];
  for (const c of columns) {
    const f = Buffer.alloc(18);
    f.writeUInt32BE(TABLE_OID, 0);
    f.writeInt16BE(c.attnum, 4);
    f.writeUInt32BE(c.type, 6);
    f.writeInt16BE(c.format ?? 0, 16);
    parts.push(Buffer.from(`${c.name}\0`), f);
  }
  return message("T", Buffer.concat(parts));
}

function dataRow(cells: (Buffer | string | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, cells.length])];
  for (const cell of cells) {
    const length = Buffer.alloc(4);
    if (cell === null) {
      length.writeInt32BE(-1);
      parts.push(length);
      continue;
    }
    const bytes = typeof cell === "string" ? Buffer.from(cell) : cell;
    length.writeInt32BE(bytes.length);
    parts.push(length, bytes);
  }
  return message("D", Buffer.concat(parts));
}

const complete = message("C", Buffer.from("SELECT 2\0"));
const ready = message("Z", Buffer.from("I"));

/** Splits server bytes back into [type, body] pairs. */
function messages(bytes: Buffer): { type: string; body: Buffer }[] {
  const out: { type: string; body: Buffer }[] = [];
  for (let o = 0; o < bytes.length; ) {
    const length = bytes.readInt32BE(o + 1);
    out.push({ type: String.fromCharCode(bytes[o]!), body: bytes.subarray(o + 5, o + 1 + length) });
    o += 1 + length;
  }
  return out;
}

function cellsOf(body: Buffer): (string | null)[] {
  const cells: (string | null)[] = [];
  let o = 2;
  for (let i = 0; i < body.readInt16BE(0); i++) {
    const length = body.readInt32BE(o);
    o += 4;
    cells.push(length < 0 ? null : body.toString("latin1", o, o + length));
    o += Math.max(0, length);
  }
  return cells;
}

let pieces = false;

async function setup(masks: MaskRequirement[], registry?: DetectorRegistry) {
  const catalog = new PgCatalog(async () => [
    {
      oid: TABLE_OID,
      schema: "public",
      name: "customers",
      kind: "r",
      viewdef: null,
      columns: [
        [1, "id", INT4],
        [2, "email", TEXT],
        [3, "note", TEXT],
        [4, "doc", JSONB],
      ],
    },
  ]);
  await catalog.load(["customers"]);
  const masker = createMasker(masks, registry ? { detectors: registry } : {});
  const counts: unknown[] = [];
  const logs: string[] = [];
  const results = new ResultMasker({
    catalog,
    sessionMasker: masker,
    onCounts: (_plan, c) => counts.push(c),
    log: (m) => logs.push(m),
  });
  const plan: StatementPlan = {
    action: { text: "SELECT ..." } as Action,
    masks,
    masker,
    sensitive: true,
    lineage: { refs: [], predicateRefs: [], writeRefs: [] },
  };
  const scanner = new BackendScanner(
    {
      wants: (t) => results.wants(t),
      inspect: (t, b) => results.inspect(t, b),
      rewriteRun: (t, chunk, start) => results.rewriteRun(t, chunk, start),
    },
    1 << 20,
  );
  // Whole in one chunk (rows masked as runs), or cut into 7-byte pieces (message by message):
  // both paths must give the same bytes.
  const run = (bytes: Buffer): Buffer => {
    if (process.env.SLUICE_TEST_PIECES !== "1" && !pieces) return Buffer.concat(scanner.scan(bytes));
    const out: Buffer[] = [];
    for (let o = 0; o < bytes.length; o += 7) out.push(...scanner.scan(bytes.subarray(o, o + 7)));
    return Buffer.concat(out);
  };
  return { results, plan, run, counts, logs };
}

const email = (detectors: string[] = []): MaskRequirement => ({
  ruleId: "pii",
  columns: ["customers.email"],
  detectors,
  strategy: "redact",
});

for (const cut of [false, true])
  describe(`result masker (${cut ? "message by message" : "rows as runs"})`, () => {
    before(() => {
      pieces = cut;
    });
    it("rewrites covered cells and keeps every other byte, in text and binary formats", async () => {
      const { results, plan, run, counts } = await setup([email(["email"])]);
      results.expect({ kind: "query", statements: [plan], index: 0 });
      const binaryId = Buffer.alloc(4);
      binaryId.writeInt32BE(7);
      const out = messages(
        run(
          Buffer.concat([
            rowDescription([
              { name: "id", attnum: 1, type: INT4, format: 1 },
              { name: "x", attnum: 2, type: TEXT, format: 1 },
              { name: "note", attnum: 3, type: TEXT },
              { name: "doc", attnum: 4, type: JSONB },
            ]),
            dataRow([binaryId, "a@b.com", "mail z@y.org today", '{"to": "q@r.net", "n": 1}']),
            dataRow([binaryId, null, null, null]),
            complete,
            ready,
          ]),
        ),
      );
      assert.deepEqual(
        out.map((m) => m.type),
        ["T", "D", "D", "C", "Z"],
      );
      const first = cellsOf(out[1]!.body);
      assert.equal(first[0], binaryId.toString("latin1"));
      assert.deepEqual(first.slice(1), ["[MASKED]", "mail [MASKED] today", '{"to":"[MASKED]","n":1}']);
      assert.deepEqual(cellsOf(out[2]!.body), [binaryId.toString("latin1"), null, null, null]);
      assert.deepEqual(counts, [{ values: 3, byRule: { pii: 3 } }]);
    });

    it("makes covered cells of types that cannot hold text NULL, and whole json cells a JSON string", async () => {
      const { results, plan, run } = await setup([
        { ruleId: "r", columns: ["customers.id", "customers.doc"], detectors: [], strategy: "redact" },
      ]);
      results.expect({ kind: "query", statements: [plan], index: 0 });
      const binaryId = Buffer.alloc(4);
      const out = messages(
        run(
          Buffer.concat([
            rowDescription([
              { name: "id", attnum: 1, type: INT4, format: 1 },
              { name: "doc", attnum: 4, type: JSONB, format: 1 },
              { name: "id2", attnum: 1, type: INT4 },
            ]),
            dataRow([binaryId, Buffer.concat([Buffer.of(1), Buffer.from('{"a":1}')]), "42"]),
            complete,
          ]),
        ),
      );
      assert.deepEqual(cellsOf(out[1]!.body), [null, '\u0001"[MASKED]"', null]);
    });

    it("ends a result whose masking fails with one native error and sends nothing more of it", async () => {
      const broken = {
        name: "broken",
        find(text: string) {
          if (text.includes("boom")) throw new Error(`cannot read ${text}`);
          return [];
        },
      };
      const registry = new DetectorRegistry([...BUILT_IN_DETECTORS, broken]);
      const { results, plan, run, logs } = await setup([email(["broken"])], registry);
      results.expect({ kind: "query", statements: [plan], index: 0 });
      const out = messages(
        run(
          Buffer.concat([
            rowDescription([{ name: "note", attnum: 3, type: TEXT }]),
            dataRow(["fine"]),
            dataRow(["boom secret-value"]),
            dataRow(["after"]),
            complete,
            ready,
          ]),
        ),
      );
      assert.deepEqual(
        out.map((m) => m.type),
        ["T", "D", "E", "Z"],
      );
      const error = parseErrorFields(out[2]!.body);
      assert.equal(error.get("C"), "XX000");
      assert.match(error.get("M") ?? "", /could not be masked/);
      assert.ok(!Buffer.concat(out.map((m) => m.body)).includes("secret-value"));
      assert.ok(!logs.join("\n").includes("secret-value"));
    });

    it("fails an Execute whose portal was never described instead of passing its rows", async () => {
      const { results, plan, run } = await setup([email()]);
      results.expect({ kind: "execute", portal: "p1", plan });
      results.expect({ kind: "sync" });
      const out = messages(run(Buffer.concat([dataRow(["a@b.com"]), complete, ready])));
      assert.deepEqual(
        out.map((m) => m.type),
        ["E", "Z"],
      );
    });

    it("describes Execute results from the swallowed Describe of the portal", async () => {
      const { results, plan, run } = await setup([email()]);
      results.expect({ kind: "describe", portal: "p1", swallow: true });
      results.expect({ kind: "execute", portal: "p1", plan });
      results.expect({ kind: "sync" });
      const out = messages(
        run(
          Buffer.concat([
            rowDescription([{ name: "email", attnum: 2, type: TEXT }]),
            dataRow(["a@b.com"]),
            complete,
            ready,
          ]),
        ),
      );
      assert.deepEqual(
        out.map((m) => m.type),
        ["D", "C", "Z"],
      );
      assert.deepEqual(cellsOf(out[0]!.body), ["[MASKED]"]);
    });

    it("withholds error texts of statements that touch masked data, keeping the SQLSTATE", async () => {
      const { results, plan, run } = await setup([email()]);
      results.expect({ kind: "query", statements: [plan], index: 0 });
      const serverError = message(
        "E",
        Buffer.from('SERROR\0VERROR\0C22P02\0Minvalid input syntax for type integer: "a@b.com"\0Dmore\0\0'),
      );
      const out = messages(run(Buffer.concat([serverError, ready])));
      const fields = parseErrorFields(out[0]!.body);
      assert.equal(fields.get("C"), "22P02");
      assert.match(fields.get("M") ?? "", /withheld/);
      assert.equal(fields.get("D"), undefined);
    });
  });
