export { formatDuration, parseDuration } from "../core/index.ts";
export { ConfigError, type ConfigErrorCode, type ConfigIssue } from "./config-error.ts";
export { withHiddenPassword } from "./hidden-password.ts";
export { type LoadConfigOptions, loadConfig, parseConfig } from "./load-config.ts";
export { isSupportedProtocol, PROTOCOLS, type Protocol, SUPPORTED_PROTOCOLS } from "./protocols.ts";
export { DEFAULTS } from "./schema.ts";
export {
  formatSecretRef,
  parseSecretRef,
  type ResolveSecretOptions,
  resolveSecret,
  type SecretRef,
} from "./secret-ref.ts";
export { formatSize, parseSize } from "./size.ts";
export type {
  AuditConfig,
  AuditRetentionConfig,
  AuditSinkConfig,
  LimitsConfig,
  ListenAddress,
  ListenersConfig,
  PolicyConfig,
  SigningKeyConfig,
  SluiceConfig,
  StoreConfig,
  TlsConfig,
  TokensConfig,
} from "./types.ts";
