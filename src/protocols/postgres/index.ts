export { PostgresAdapter, type PostgresAdapterOptions } from "./postgres-adapter.ts";
