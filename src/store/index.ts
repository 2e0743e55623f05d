export { bodyHash, GENESIS_HASH, linkHash } from "./chain.ts";
export { openStore, type StoreLocation } from "./open-store.ts";
export {
  type LoginSessionRow,
  type LoginSessionUpdate,
  SqliteLoginSessionStore,
} from "./login-session-store.ts";
export { SqliteStore } from "./sqlite-store.ts";
export type {
  AuditEnvelope,
  AuditQuery,
  AuditRecord,
  ChainedAuditRecord,
  ChainHead,
  ChainQuery,
  RetentionCutoffs,
  RetentionRequest,
  RetentionStep,
  Store,
  StoredAuditRecord,
} from "./store.ts";
