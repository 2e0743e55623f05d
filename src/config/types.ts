import type { Connection } from "../core/index.ts";
import type { NotificationTargetConfig } from "./approvals-schema.ts";
import type { IdentityConfig } from "./identity-types.ts";
import type { RecordingsConfig } from "./recordings-schema.ts";

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
  /** Session recordings (docs/recording.md). */
  readonly recordings: RecordingsConfig;
  /** Upstream identity providers, trusted token issuers and login sessions. */
  readonly identity: IdentityConfig;
  /** Held commands and time-boxed grants (docs/approvals.md). */
  readonly approvals: ApprovalsConfig;
  /** Result masking settings (docs/masking.md). */
  readonly masking: MaskingConfig;
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
  /**
   * Keys rotated out (`sluice keys rotate`): still accepted for verifying tokens, checkpoints and
   * seals they signed, and published in the JWKS, but never used to sign. Absolute paths.
   */
  readonly previousPaths: readonly string[];
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

export type AuditSinkConfig = JsonlSinkConfig | SyslogSinkConfig | WebhookSinkConfig;

export interface JsonlSinkConfig {
  readonly type: "jsonl";
  /** Absolute path of the JSON-lines file; its cursor is kept beside it (`<path>.cursor`). */
  readonly path: string;
}

export interface SyslogSinkConfig {
  readonly type: "syslog";
  /** TCP and TLS use octet-counting framing; UDP is best effort. */
  readonly transport: "tcp" | "tls" | "udp";
  readonly host: string;
  readonly port: number;
  /** Facility code, 0..23. */
  readonly facility: number;
  /** HOSTNAME in the messages; absent: this machine's host name. */
  readonly hostname: string | undefined;
  /** TLS only: absolute path of a PEM file with the CA certificates to trust instead of the system's. */
  readonly caPath: string | undefined;
  /** Absolute path of the file that keeps the last sent seq. */
  readonly cursorPath: string;
}

export interface WebhookSinkConfig {
  readonly type: "webhook";
  /** https, or http on loopback only; never with user:password. */
  readonly url: string;
  /**
   * The HMAC-SHA256 key, resolved from its env:/file: reference. Hidden from JSON and inspect
   * output; absent when the configuration was loaded without secrets.
   */
  readonly secret?: string;
  /** Events per request. */
  readonly batchSize: number;
  /** Bound on one request. */
  readonly timeoutSeconds: number;
  /** Absolute path of the file that keeps the last delivered seq. */
  readonly cursorPath: string;
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

export interface MaskingConfig {
  /** The `hash` strategy's key (resolved secret; hidden from JSON and inspect output). */
  readonly hashKey?: string;
}

export interface ApprovalsConfig {
  /** How long a held statement waits for reviewers before the client gets an answer. */
  readonly holdSeconds: number;
  readonly grants: {
    readonly reviewers: readonly string[];
    readonly minApprovals: number;
    readonly maxSeconds: number;
    readonly requestTtlSeconds: number;
  };
  /** Where reviewers are told about requests (secrets resolved, hidden from JSON). */
  readonly notifications: readonly NotificationTargetConfig[];
}
