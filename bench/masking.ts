/**
 * Micro-benchmark of the masking engine (issue #5): microseconds per row for a 5-column row with
 * one text column redacted by a column rule (without and with every detector scanning the other
 * cells), per-cell detector scanning of a 100-character text, a COPY text line, and a check that
 * detector scanning does not allocate per character. Standalone: npx tsx bench/masking.ts
 */
import { realpathSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  BUILT_IN_DETECTORS,
  type ColumnDescriptor,
  createMasker,
  type Detector,
} from "../src/masking/index.ts";

/** Texts decoded from the wire are flat strings, not the ropes `+` builds. */
function flat(s: string): string {
  return Buffer.from(s, "utf8").toString("utf8");
}

const COLUMNS: ColumnDescriptor[] = [
  { name: "id", source: { table: "customers", column: "id" }, holdsText: false },
  { name: "name", source: { table: "customers", column: "name" } },
  { name: "email", source: { table: "customers", column: "email" } },
  { name: "city", source: { table: "customers", column: "city" } },
  { name: "created_at", source: { table: "customers", column: "created_at" }, holdsText: false },
];

const row = (i: number): (string | null)[] =>
  [`${i}`, `Customer ${i}`, `customer${i}@example.com`, "Springfield", "2024-01-15 10:30:00+00"].map(flat);

/** 100 characters of ordinary prose: no detector finds anything (the common case). */
const PROSE = flat(
  "Order shipped to the warehouse on Monday; invoice 2024-01-15 attached, version 1.2.3, ref ORD-000123..",
);
/** 100 characters with one e-mail address in the middle. */
const WITH_EMAIL = flat(
  "Please forward the signed invoice to billing.dept@example.com before Friday, thanks a lot, the team.",
);

export interface MaskingTiming {
  readonly measure: string;
  readonly micros: number;
  readonly unit: string;
  readonly ops: number;
}

function time(measure: string, unit: string, iterations: number, run: (i: number) => void): MaskingTiming {
  for (let i = 0; i < Math.min(2000, iterations); i++) run(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run(i);
  const ns = Number(process.hrtime.bigint() - start);
  return { measure, micros: ns / iterations / 1000, unit, ops: iterations };
}

export interface AllocationCheck {
  readonly subject: string;
  /** Heap bytes allocated per scan of the 100-character text; undefined when every attempt saw a GC. */
  readonly bytesPer100: number | undefined;
  /** The same for a 1,000-character text. */
  readonly bytesPer1000: number | undefined;
  /** Growth per extra character between the two: what per-character allocation would show. */
  readonly bytesPerChar: number | undefined;
  readonly ok: boolean;
}

const gc = ((): (() => void) => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/** Heap bytes one call of `scan` allocates, measured across a loop that saw no garbage collection. */
async function bytesPerCall(scan: () => unknown): Promise<number | undefined> {
  for (let i = 0; i < 50_000; i++) scan(); // warm-up: optimized code (unoptimized tiers box numbers)
  for (let attempt = 0; attempt < 8; attempt++) {
    gc();
    let from = 0;
    let to = 0;
    let collections = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        if (entry.startTime >= from && entry.startTime <= to) collections++;
    });
    observer.observe({ entryTypes: ["gc"] });
    const calls = 2_000;
    from = performance.now();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < calls; i++) scan();
    const after = process.memoryUsage().heapUsed;
    to = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 10));
    observer.disconnect();
    if (collections === 0) return Math.max(0, after - before) / calls;
    // A collection during the loop hides allocations: measure again.
  }
  return undefined;
}

/**
 * Allocation per scan of a 100- and a 1,000-character text without finds. Per-character
 * allocation would cost at least one small object (16+ bytes) per character; a constant per scan
 * (a row's result object) is fine, so the check is on the growth per character.
 */
async function allocationCheck(subject: string, scan: (text: string) => unknown): Promise<AllocationCheck> {
  const short = PROSE;
  const long = flat(PROSE.repeat(10));
  const bytesPer100 = await bytesPerCall(() => scan(short));
  const bytesPer1000 = await bytesPerCall(() => scan(long));
  if (bytesPer100 === undefined || bytesPer1000 === undefined) {
    return { subject, bytesPer100, bytesPer1000, bytesPerChar: undefined, ok: false };
  }
  const bytesPerChar = Math.max(0, bytesPer1000 - bytesPer100) / (long.length - short.length);
  return { subject, bytesPer100, bytesPer1000, bytesPerChar, ok: bytesPerChar < 1 };
}

export interface MaskingBench {
  readonly timings: readonly MaskingTiming[];
  readonly allocations: readonly AllocationCheck[];
}

export async function runMaskingBench(): Promise<MaskingBench> {
  const rows = Array.from({ length: 10_000 }, (_, i) => row(i));
  const timings: MaskingTiming[] = [];

  const redactOnly = createMasker([
    { ruleId: "pii", columns: ["customers.email"], detectors: [], strategy: "redact" },
  ]).forTable(COLUMNS);
  timings.push(
    time("5-column row, email column redacted (column rule only)", "µs/row", 500_000, (i) =>
      redactOnly.maskRow(rows[i % rows.length]!),
    ),
  );

  const allNames = BUILT_IN_DETECTORS.map((d) => d.name);
  const redactAndDetect = createMasker([
    { ruleId: "pii", columns: ["customers.email"], detectors: allNames, strategy: "redact" },
  ]).forTable(COLUMNS);
  timings.push(
    time("5-column row, email redacted + all 9 detectors on the other 4 cells", "µs/row", 200_000, (i) =>
      redactAndDetect.maskRow(rows[i % rows.length]!),
    ),
  );

  const passThrough = createMasker([
    { ruleId: "other", columns: ["orders.secret"], detectors: [], strategy: "redact" },
  ]).forTable(COLUMNS);
  timings.push(
    time("5-column row, no rule applies (pass-through)", "µs/row", 1_000_000, (i) =>
      passThrough.maskRow(rows[i % rows.length]!),
    ),
  );

  const copyLines = rows.map((r) => flat(r.join("\t")));
  timings.push(
    time("COPY text line, 5 fields, email redacted", "µs/line", 300_000, (i) =>
      redactOnly.maskCopyTextLine(copyLines[i % copyLines.length]!),
    ),
  );

  const detecting = createMasker([{ ruleId: "all", columns: [], detectors: allNames, strategy: "redact" }]);
  const cell = detecting.forTable([{ name: "note" }]);
  const proseRow = [PROSE];
  const emailRow = [WITH_EMAIL];
  timings.push(
    time("100-char cell, all 9 detectors, nothing found", "µs/cell", 300_000, () => cell.maskRow(proseRow)),
  );
  timings.push(
    time("100-char cell, all 9 detectors, one e-mail masked", "µs/cell", 300_000, () =>
      cell.maskRow(emailRow),
    ),
  );
  for (const detector of BUILT_IN_DETECTORS) {
    timings.push(
      time(`  of which ${detector.name}.find (nothing found)`, "µs/cell", 300_000, () =>
        detector.find(PROSE),
      ),
    );
  }

  const allocations: AllocationCheck[] = [];
  for (const detector of BUILT_IN_DETECTORS as readonly Detector[]) {
    allocations.push(await allocationCheck(`${detector.name}.find`, (text) => detector.find(text)));
  }
  const oneCell: (string | null)[] = [""];
  allocations.push(
    await allocationCheck("masker cell (all 9 detectors)", (text) => {
      oneCell[0] = text;
      return cell.maskRow(oneCell);
    }),
  );
  return { timings, allocations };
}

export function formatMaskingBench(bench: MaskingBench): string[] {
  const lines = bench.timings.map(
    (t) => `${t.measure.padEnd(70)} ${t.micros.toFixed(3).padStart(8)} ${t.unit}  (${t.ops} ops)`,
  );
  lines.push("", "Heap allocation while scanning text without finds (must not grow per character):");
  const bytes = (n: number | undefined): string => (n === undefined ? "(GC)" : n.toFixed(1)).padStart(6);
  for (const a of bench.allocations) {
    lines.push(
      `  ${a.ok ? "ok  " : "FAIL"} ${a.subject.padEnd(32)} 100 chars ${bytes(a.bytesPer100)} B/scan, ` +
        `1000 chars ${bytes(a.bytesPer1000)} B/scan, growth ${bytes(a.bytesPerChar)} B/char`,
    );
  }
  return lines;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  const bench = await runMaskingBench();
  for (const line of formatMaskingBench(bench)) console.log(line);
  if (bench.allocations.some((a) => !a.ok)) process.exitCode = 1;
}
