export { PostgresAdapter, type PostgresAdapterOptions } from "./postgres-adapter.ts";
export { loadSqlParser, PostgresAnalyser } from "./sql/index.ts";
