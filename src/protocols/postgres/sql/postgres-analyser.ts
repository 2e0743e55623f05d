/**
 * The PostgreSQL command analyser: one `sql.statement` command per statement, facts under
 * `sql`. Create it with `PostgresAnalyser.create()`, or construct it and await `ready()`: until
 * the parser is loaded every text is reported as unparsed (denied).
 */

import type { AnalysedCommand, CommandAnalyser } from "../../../core/index.ts";
import { loadSqlParser } from "./load-sql-parser.ts";
import type { SqlAnalysis } from "./sql-types.ts";
import { StatementCache, type StatementCacheOptions } from "./statement-cache.ts";

export class PostgresAnalyser implements CommandAnalyser {
  readonly protocol = "postgres";
  /** The analysis cache, shared with code that needs whole analyses (extended protocol). */
  readonly cache: StatementCache;
  // Cached analyses are shared objects, so their command lists can be built once.
  private readonly commands = new WeakMap<SqlAnalysis, readonly AnalysedCommand[]>();

  constructor(options: StatementCacheOptions = {}) {
    this.cache = new StatementCache(options);
  }

  static async create(options: StatementCacheOptions = {}): Promise<PostgresAnalyser> {
    await loadSqlParser();
    return new PostgresAnalyser(options);
  }

  /** Resolves once the parser is loaded (for analysers built with `new`). */
  ready(): Promise<void> {
    return loadSqlParser();
  }

  analyse(text: string): readonly AnalysedCommand[] {
    const analysis = this.cache.analyse(text);
    let commands = this.commands.get(analysis);
    if (commands === undefined) {
      commands = Object.freeze(
        analysis.statements.map(
          (s): AnalysedCommand =>
            Object.freeze({ kind: "sql.statement", text: s.text, facts: Object.freeze({ sql: s.facts }) }),
        ),
      );
      this.commands.set(analysis, commands);
    }
    return commands;
  }

  /** Cache counters, for benchmarks and metrics. */
  cacheStats(): ReturnType<StatementCache["stats"]> {
    return this.cache.stats();
  }
}
