export { bodyHash, GENESIS_HASH, linkHash } from "./chain.ts";
export {
  type LoginSessionRow,
  type LoginSessionUpdate,
  SqliteLoginSessionStore,
} from "./login-session-store.ts";
export { MAX_NOTIFICATION_BYTES } from "./notifications.ts";
export { type OpenStoreOptions, openStore, type StoreLocation } from "./open-store.ts";
export {
  IDENTITY_CHANNEL,
  PostgresIdentityStores,
  type PostgresIdentityStoresOptions,
} from "./postgres-identity-stores.ts";
export { PostgresStore, type PostgresStoreOptions } from "./postgres-store.ts";
export { type ApiKeyRow, SqliteServiceAccountStore } from "./service-account-store.ts";
export { SqliteStore } from "./sqlite-store.ts";
export type {
  ApprovalQuery,
  AuditEnvelope,
  AuditQuery,
  AuditRecord,
  ChainedAuditRecord,
  ChainHead,
  ChainQuery,
  NotificationHandler,
  RetentionCutoffs,
  RetentionRequest,
  RetentionStep,
  Store,
  StoredApproval,
  StoredAuditRecord,
  SubscribeOptions,
  Subscription,
} from "./store.ts";
