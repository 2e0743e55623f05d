/**
 * Micro-benchmark of the PostgreSQL analyser: microseconds per `analyse` call for an exact-text
 * cache hit, a normalized-text cache hit (same statement, new literal values) and a miss (full
 * parse and fact collection). `npm run bench` runs it through `runSqlAnalysisBench`; standalone:
 * npx tsx bench/sql-analysis.ts
 */

import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseSync } from "libpg-query";
import { analyseSql, loadSqlParser, StatementCache } from "../src/protocols/postgres/sql/index.ts";

const SIMPLE = (n: number): string => `SELECT abalance FROM pgbench_accounts WHERE aid = ${n}`;
const COMPLEX = (n: number): string =>
  `WITH recent AS (SELECT o.id, o.user_id, o.total FROM orders o WHERE o.created_at > now() - interval '${n} days') ` +
  `SELECT u.id, u.email, sum(r.total) AS spent, count(*) FILTER (WHERE r.total > ${n}) AS big ` +
  `FROM users u JOIN recent r ON r.user_id = u.id LEFT JOIN LATERAL (SELECT max(id) FROM payments p WHERE p.user_id = u.id) m ON true ` +
  `WHERE u.status = 'active' AND u.id IN (SELECT user_id FROM vip WHERE level >= ${n % 5}) ` +
  `GROUP BY u.id, u.email HAVING sum(r.total) > ${n} ORDER BY spent DESC LIMIT 50`;

/** Texts decoded from the wire are flat strings, not the ropes `+` builds. */
function flat(s: string): string {
  return Buffer.from(s, "utf8").toString("utf8");
}

export interface SqlAnalysisTiming {
  /** `simple` (a pgbench point select) or `complex` (a CTE with joins, a lateral and a subquery). */
  readonly statement: "simple" | "complex";
  /** What was timed: `cache hit (exact text)`, `cache hit (normalized text)`, `miss (parse + analyse)`, `of which libpg-query parseSync`. */
  readonly measure: string;
  readonly microsPerOp: number;
  readonly ops: number;
}

function time(
  statement: SqlAnalysisTiming["statement"],
  measure: string,
  iterations: number,
  run: (i: number) => void,
): SqlAnalysisTiming {
  for (let i = 0; i < Math.min(1000, iterations); i++) run(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run(i);
  const ns = Number(process.hrtime.bigint() - start);
  return { statement, measure, microsPerOp: ns / iterations / 1000, ops: iterations };
}

/** Times the analyser's cache hits and misses for a simple and a complex statement; a few seconds. */
export async function runSqlAnalysisBench(): Promise<SqlAnalysisTiming[]> {
  await loadSqlParser();
  const timings: SqlAnalysisTiming[] = [];
  for (const [name, make] of [
    ["simple", SIMPLE],
    ["complex", COMPLEX],
  ] as const) {
    const exact = new StatementCache();
    // Distinct string objects with equal content, as each wire message yields.
    const same = Array.from({ length: 50_000 }, () => flat(make(1)));
    exact.analyse(make(1));
    timings.push(time(name, "cache hit (exact text)", same.length, (i) => exact.analyse(same[i]!)));

    // Fresh literal values each call, so every call misses the exact map.
    const normalized = new StatementCache({ exactEntries: 1_000 });
    normalized.analyse(make(0));
    const texts = Array.from({ length: 50_000 }, (_, i) => flat(make(i + 1_000_000)));
    timings.push(
      time(name, "cache hit (normalized text)", texts.length, (i) => normalized.analyse(texts[i]!)),
    );
    if (normalized.stats().normalizedHits < texts.length) throw new Error("expected normalized hits");

    const missTexts = Array.from({ length: 5_000 }, (_, i) => flat(make(i + 2_000_000)));
    timings.push(time(name, "miss (parse + analyse)", missTexts.length, (i) => analyseSql(missTexts[i]!)));
    timings.push(
      time(name, "of which libpg-query parseSync", missTexts.length, (i) => parseSync(missTexts[i]!)),
    );
  }
  return timings;
}

/** Plain-text lines, one per measurement. */
export function formatSqlAnalysisBench(timings: readonly SqlAnalysisTiming[]): string[] {
  return timings.map((t) => {
    const label = `${t.statement}: ${t.measure.startsWith("of which") ? "  " : ""}${t.measure}`;
    return `${label.padEnd(44)} ${t.microsPerOp.toFixed(2).padStart(8)} µs/op  (${t.ops} ops)`;
  });
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  for (const line of formatSqlAnalysisBench(await runSqlAnalysisBench())) console.log(line);
}
