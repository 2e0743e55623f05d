/**
 * Caches SQL analyses. First by exact text; then, for single statements, by normalized text
 * (literals replaced), so `... WHERE aid = 1` and `... WHERE aid = 2` share one parse. A
 * normalized entry is stored only when no fact depended on a literal's value (see
 * `literalSensitive`): `DELETE FROM t WHERE 1 = 1` and `... WHERE 1 = 2` are parsed separately.
 * Both maps are bounded LRUs. Results are frozen and shared: treat them as immutable.
 */

import { analyseSql, PARSER_NOT_LOADED } from "./sql-analyser.ts";
import { normalizeSql } from "./sql-lexer.ts";
import type { SqlAnalysis, StatementAnalysis } from "./sql-types.ts";

export interface StatementCacheOptions {
  /** Entries in the exact-text map (default 10 000). */
  readonly exactEntries?: number;
  /** Entries in the normalized-text map (default 10 000). */
  readonly normalizedEntries?: number;
  /** Longer texts are analysed every time, to bound the memory the cache can hold (default 8 KiB). */
  readonly maxTextLength?: number;
}

export interface StatementCacheStats {
  readonly exactHits: number;
  readonly normalizedHits: number;
  readonly misses: number;
  readonly exactSize: number;
  readonly normalizedSize: number;
}

const DEFAULT_ENTRIES = 10_000;
const DEFAULT_MAX_TEXT = 8 * 1024;

function remember<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  if (limit <= 0) return;
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
}

/** Map lookup that marks the entry as most recently used. */
function recall<V>(map: Map<string, V>, key: string): V | undefined {
  const value = map.get(key);
  if (value !== undefined) {
    map.delete(key);
    map.set(key, value);
  }
  return value;
}

export class StatementCache {
  private readonly exact = new Map<string, SqlAnalysis>();
  private readonly normalized = new Map<string, SqlAnalysis>();
  private readonly exactLimit: number;
  private readonly normalizedLimit: number;
  private readonly maxTextLength: number;
  private exactHits = 0;
  private normalizedHits = 0;
  private misses = 0;

  constructor(options: StatementCacheOptions = {}) {
    this.exactLimit = options.exactEntries ?? DEFAULT_ENTRIES;
    this.normalizedLimit = options.normalizedEntries ?? DEFAULT_ENTRIES;
    this.maxTextLength = options.maxTextLength ?? DEFAULT_MAX_TEXT;
  }

  analyse(text: string): SqlAnalysis {
    const hit = recall(this.exact, text);
    if (hit !== undefined) {
      this.exactHits++;
      return hit;
    }
    if (text.length > this.maxTextLength) {
      this.misses++;
      return analyseSql(text);
    }
    const normalized = normalizeSql(text);
    const key = normalized !== null && normalized.statements === 1 ? normalized.key : undefined;
    if (key !== undefined) {
      const shared = recall(this.normalized, key);
      if (shared !== undefined) {
        this.normalizedHits++;
        // Not remembered by exact text: texts with inlined literals rarely repeat, and filling the
        // exact map with them churns the heap (measured: ~10 µs per statement in GC under load).
        return withText(shared, text);
      }
    }
    this.misses++;
    const result = analyseSql(text);
    if (result.error === PARSER_NOT_LOADED) return result;
    remember(this.exact, text, result, this.exactLimit);
    const only = result.statements.length === 1 ? result.statements[0] : undefined;
    if (key !== undefined && result.parsed && only !== undefined && !only.literalSensitive) {
      remember(this.normalized, key, result, this.normalizedLimit);
    }
    return result;
  }

  stats(): StatementCacheStats {
    return {
      exactHits: this.exactHits,
      normalizedHits: this.normalizedHits,
      misses: this.misses,
      exactSize: this.exact.size,
      normalizedSize: this.normalized.size,
    };
  }

  clear(): void {
    this.exact.clear();
    this.normalized.clear();
  }
}

/** The shared single-statement analysis, reported with the caller's own text. */
function withText(shared: SqlAnalysis, text: string): SqlAnalysis {
  const statements = shared.statements.map(
    (s): StatementAnalysis => Object.freeze({ text: text.trim(), facts: s.facts, literalSensitive: false }),
  );
  return Object.freeze({ parsed: shared.parsed, statements: Object.freeze(statements) });
}
