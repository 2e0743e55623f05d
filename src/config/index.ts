export { formatDuration, parseDuration } from "../core/index.ts";
export { ConfigError, type ConfigErrorCode, type ConfigIssue } from "./config-error.ts";
export { withHiddenPassword } from "./hidden-password.ts";
export { IDENTITY_DEFAULTS } from "./identity-schema.ts";
export type {
  GroupMappingRule,
  IdentityConfig,
  IdentityProviderConfig,
  OidcProviderConfig,
  SamlProviderConfig,
  TrustedIssuerConfig,
} from "./identity-types.ts";
export { type LoadConfigOptions, loadConfig, parseConfig } from "./load-config.ts";
export { isSupportedProtocol, PROTOCOLS, type Protocol, SUPPORTED_PROTOCOLS } from "./protocols.ts";
export { RECORDINGS_DEFAULTS, type RecordingsConfig } from "./recordings-schema.ts";
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
  JsonlSinkConfig,
  LimitsConfig,
  ListenAddress,
  ListenersConfig,
  PolicyConfig,
  SigningKeyConfig,
  SluiceConfig,
  StoreConfig,
  SyslogSinkConfig,
  TlsConfig,
  TokensConfig,
  WebhookSinkConfig,
} from "./types.ts";
