export { loadSqlParser } from "./load-sql-parser.ts";
export { PostgresAnalyser } from "./postgres-analyser.ts";
export { analyseSql } from "./sql-analyser.ts";
export { type NormalizedSql, normalizeSql } from "./sql-lexer.ts";
export type { SqlAnalysis, SqlFacts, StatementAnalysis } from "./sql-types.ts";
export { StatementCache, type StatementCacheOptions, type StatementCacheStats } from "./statement-cache.ts";
