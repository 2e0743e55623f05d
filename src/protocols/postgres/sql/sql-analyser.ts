/**
 * Turns PostgreSQL text into per-statement facts with the real PostgreSQL parser (libpg-query,
 * loaded once with `loadSqlParser`). Never throws: text the parser rejects, or that cannot be
 * analysed, yields one statement with `parsed: false`, which policy denies. Results are frozen
 * so caches can hand them out.
 */

import { parseSync } from "libpg-query";
import { FactCollector } from "./fact-collector.ts";
import { type Obj, rawStatements } from "./parse-tree.ts";
import { normalizeSql } from "./sql-lexer.ts";
import type { SqlAnalysis, SqlFacts, StatementAnalysis } from "./sql-types.ts";
import { sliceByUtf8Ranges } from "./utf8-slices.ts";

/** The error of analyses made before `loadSqlParser()` resolved (never worth caching). */
export const PARSER_NOT_LOADED = "the SQL parser is not loaded";

const EMPTY: SqlAnalysis = Object.freeze({ parsed: true, statements: Object.freeze([]) });
const NONE: readonly string[] = Object.freeze([]);

function sorted(set: ReadonlySet<string>): readonly string[] {
  return set.size === 0 ? NONE : Object.freeze([...set].sort());
}

function failure(text: string, error: string): SqlAnalysis {
  const facts: SqlFacts = Object.freeze({
    parsed: false,
    dynamic: true,
    kinds: NONE,
    statement_kind: "unknown",
    tables: NONE,
    writes: NONE,
    unfiltered_writes: NONE,
    functions: NONE,
    columns: NONE,
    settings: NONE,
    prepared_name: null,
    statements: Math.max(1, normalizeSql(text)?.statements ?? 1),
  });
  const statement: StatementAnalysis = Object.freeze({ text: text.trim(), facts, literalSensitive: false });
  return Object.freeze({ parsed: false, error, statements: Object.freeze([statement]) });
}

function analyseStatement(stmt: Obj, text: string, count: number): StatementAnalysis {
  const c = new FactCollector();
  const kind = c.collect(stmt, text);
  const facts: SqlFacts = Object.freeze({
    parsed: true,
    dynamic: c.dynamic,
    kinds: sorted(c.kinds),
    statement_kind: kind,
    tables: sorted(c.tables),
    writes: sorted(c.writes),
    unfiltered_writes: sorted(c.unfilteredWrites),
    functions: sorted(c.functions),
    columns: sorted(c.columns),
    settings: sorted(c.settings),
    prepared_name: c.preparedName,
    statements: count,
  });
  const analysis: StatementAnalysis = { text, facts, literalSensitive: c.literalSensitive };
  return Object.freeze(analysis);
}

export function analyseSql(text: string): SqlAnalysis {
  // On the wire a NUL ends the query string: what the server would run is not this text.
  if (text.includes("\0")) return failure(text, "query text contains a NUL character");
  if (text.length === 0) return EMPTY;
  let result: unknown;
  try {
    result = parseSync(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return failure(text, /not initialized/i.test(message) ? PARSER_NOT_LOADED : message);
  }
  const stmts = rawStatements(result);
  if (stmts.length === 0) return EMPTY;
  // One statement: its text is the whole input, so a cache hit on a text that differs only in
  // literals or comments reports the caller's text exactly as a fresh parse would.
  const texts =
    stmts.length === 1
      ? [text.trim()]
      : sliceByUtf8Ranges(
          text,
          stmts.map((s) => s.range),
        );
  try {
    const statements = stmts.map(({ stmt }, i) => analyseStatement(stmt, texts[i] ?? "", stmts.length));
    return Object.freeze({ parsed: true, statements: Object.freeze(statements) });
  } catch (e) {
    // A tree deep enough to exhaust the stack (or any other surprise) is refused, never half
    // analysed.
    if (e instanceof RangeError) return failure(text, "statement too deeply nested to analyse");
    return failure(text, `analysis failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
