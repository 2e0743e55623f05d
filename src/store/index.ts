export { openStore, type StoreLocation } from "./open-store.ts";
export { SqliteStore } from "./sqlite-store.ts";
export type { AuditQuery, AuditRecord, Store, StoredAuditRecord } from "./store.ts";
