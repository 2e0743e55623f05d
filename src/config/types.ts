import type { Connection } from "../core/index.ts";

/** The validated configuration: fully defaulted, deeply frozen, paths absolute, durations in seconds. */
export interface SluiceConfig {
  readonly listeners: ListenersConfig;
  readonly store: StoreConfig;
  readonly signingKey: SigningKeyConfig;
  /** Absolute path of the policy directory. */
  readonly policies: string;
  /** Absent when the gateway should generate a self-signed certificate. */
  readonly tls: TlsConfig | undefined;
  readonly tokens: TokensConfig;
  readonly policy: PolicyConfig;
  readonly limits: LimitsConfig;
  readonly audit: AuditConfig;
  /** Backends with their secrets resolved. The password is hidden from JSON and inspect output. */
  readonly connections: readonly Connection[];
}

export interface ListenAddress {
  readonly host: string;
  /** 0 asks the operating system for a free port. */
  readonly port: number;
}

export interface ListenersConfig {
  readonly http: ListenAddress;
  readonly postgres: ListenAddress;
}

export type StoreConfig =
  | { readonly kind: "sqlite" /** Absolute path, or `:memory:`. */; readonly path: string }
  | {
      readonly kind: "postgres" /** Without a password: libpq's PGPASSWORD supplies it. */;
      readonly url: string;
    };

export interface SigningKeyConfig {
  /** Absolute path of the PKCS#8 PEM file; generated when missing. */
  readonly path: string;
}

export interface TlsConfig {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface TokensConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  /** Clock skew tolerated when checking exp and nbf. */
  readonly leewaySeconds: number;
}

export interface PolicyConfig {
  /** IANA time zone for time-of-day conditions. */
  readonly timeZone: string;
}

export interface LimitsConfig {
  readonly maxMessageBytes: number;
  readonly maxBatchBytes: number;
  readonly maxConnections: number;
}

export interface AuditSinkConfig {
  readonly type: "jsonl";
  /** Absolute path of the JSON-lines file; its cursor is kept beside it (`<path>.cursor`). */
  readonly path: string;
}

export interface AuditRetentionConfig {
  /** Seconds to keep events of each listed type. */
  readonly byType: Readonly<Record<string, number>>;
  /** Seconds to keep events of every other type; absent: kept forever. */
  readonly defaultSeconds?: number;
}

export interface AuditConfig {
  readonly sinks: readonly AuditSinkConfig[];
  /** Absent: nothing is ever removed. */
  readonly retention: AuditRetentionConfig | undefined;
  readonly retentionIntervalSeconds: number;
  /** How often a signed checkpoint of the chain's head is written (and once at shutdown). */
  readonly checkpointIntervalSeconds: number;
}
