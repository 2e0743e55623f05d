import { resolve } from "node:path";
import { z } from "zod";
import { formatDuration, parseDuration } from "../core/index.ts";
import { approvalNotificationsSchema, type ParsedNotificationTarget } from "./approvals-schema.ts";
import {
  type ParsedAuditConfig,
  type ParsedAuditSink,
  parseSyslogAddress,
  parseWebhookUrl,
  SYSLOG_ADDRESS_HINT,
  SYSLOG_FACILITIES,
  SYSLOG_FACILITY_HINT,
  sinkIdentity,
} from "./audit-sinks.ts";
import { identitySchema, type ParsedIdentityConfig } from "./identity-schema.ts";
import { parseListenAddress } from "./listen-address.ts";
import { isSupportedProtocol, PROTOCOLS, type Protocol, SUPPORTED_PROTOCOLS } from "./protocols.ts";
import { recordingStorageProblem, recordingsSchema } from "./recordings-schema.ts";
import { parseSecretRef, SECRET_REF_HINT, type SecretRef } from "./secret-ref.ts";
import { formatSize, parseSize } from "./size.ts";
import { parseStoreLocation } from "./store-location.ts";
import type { ApprovalsConfig, LimitsConfig, SluiceConfig, TokensConfig } from "./types.ts";

/** A connection as written in the file: the password is still a reference. */
export interface ParsedConnection {
  readonly name: string;
  readonly protocol: Protocol;
  readonly labels: Readonly<Record<string, string>>;
  readonly target: {
    readonly host: string;
    readonly port: number;
    readonly database?: string;
    readonly user?: string;
    readonly password?: SecretRef;
  };
}

/** What the schema yields: the final configuration except for unresolved secrets. */
export type ParsedConfig = Omit<
  SluiceConfig,
  "connections" | "identity" | "audit" | "masking" | "approvals"
> & {
  /** Notification targets with their secrets still references. */
  readonly approvals: Omit<ApprovalsConfig, "notifications"> & {
    readonly notifications: readonly ParsedNotificationTarget[];
  };
  readonly connections: readonly ParsedConnection[];
  /** The hash key still a reference. */
  readonly masking: { readonly hashKey?: SecretRef };
  readonly identity: ParsedIdentityConfig;
  /** Sinks with webhook secrets still references and cursors not yet defaulted. */
  readonly audit: ParsedAuditConfig;
};

export const CONNECTION_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,126}$/;

export const DEFAULTS = {
  listeners: { http: "127.0.0.1:8080", postgres: "127.0.0.1:15432" },
  store: "sqlite:./data/sluice.db",
  signingKey: "file:./data/signing-key.pem",
  policies: "./policies",
  tokens: { issuer: "sluice", audience: "sluice", defaultTtl: "15m", maxTtl: "12h", leeway: "30s" },
  timeZone: "UTC",
  limits: { maxMessageBytes: 16 * 1024 ** 2, maxBatchBytes: 64 * 1024 ** 2, maxConnections: 1000 },
  audit: { retentionInterval: "1h", checkpointInterval: "1h" },
} as const;

/** Retention keys: `default`, or an event type such as `action.allowed`. */
const RETENTION_KEY = /^(?:default|[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)$/;

/** A schema-level message that leaves "missing required key" to the per-parse error map. */
function unlessMissing(message: string) {
  return (issue: { readonly input?: unknown }) => (issue.input === undefined ? undefined : message);
}

type Ctx = z.core.$RefinementCtx;

function fail(ctx: Ctx, message: string): never {
  ctx.issues.push({ code: "custom", message, input: undefined });
  return z.NEVER;
}

const nonEmptyString = z.string().min(1, { error: "expected a non-empty string" });

const PORT_MESSAGE = "expected a number between 1 and 65535";
const port = z
  .number({ error: unlessMissing(PORT_MESSAGE) })
  .int({ error: PORT_MESSAGE })
  .min(1, { error: PORT_MESSAGE })
  .max(65_535, { error: PORT_MESSAGE });

const LISTEN_MESSAGE = "expected host:port, e.g. 127.0.0.1:8080";
const listenAddress = z
  .string({ error: unlessMissing(LISTEN_MESSAGE) })
  .transform((text, ctx) => parseListenAddress(text) ?? fail(ctx, LISTEN_MESSAGE));

function duration(min: number, max: number) {
  const message = `expected a duration between ${formatDuration(min)} and ${formatDuration(max)}, e.g. 30s, 15m, 12h or 7d`;
  return z.union([z.string(), z.number()], { error: unlessMissing(message) }).transform((value, ctx) => {
    const seconds = parseDuration(value);
    return seconds !== undefined && seconds >= min && seconds <= max ? seconds : fail(ctx, message);
  });
}

function size(min: number, max: number) {
  const message = `expected a size between ${formatSize(min)} and ${formatSize(max)}, e.g. 64KiB or 16MiB`;
  return z.union([z.string(), z.number()], { error: unlessMissing(message) }).transform((value, ctx) => {
    const bytes = parseSize(value);
    return bytes !== undefined && bytes >= min && bytes <= max ? bytes : fail(ctx, message);
  });
}

const secretRef = z
  .string({ error: unlessMissing(SECRET_REF_HINT) })
  .transform((text, ctx) => parseSecretRef(text) ?? fail(ctx, SECRET_REF_HINT));

const timeZone = z
  .string()
  .refine(isTimeZone, { error: "expected an IANA time zone such as UTC or Europe/Berlin" });

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const protocol = z
  .enum(PROTOCOLS, { error: unlessMissing(`expected one of ${PROTOCOLS.join(", ")}`) })
  .refine(isSupportedProtocol, {
    error: (issue) =>
      `protocol ${String(issue.input)} is not supported yet (supported: ${[...SUPPORTED_PROTOCOLS].join(", ")})`,
  });

const target = z
  .strictObject({
    host: nonEmptyString,
    port,
    database: nonEmptyString.optional(),
    user: nonEmptyString.optional(),
    password: secretRef.optional(),
  })
  .transform(({ host, port, database, user, password }): ParsedConnection["target"] => ({
    host,
    port,
    ...(database === undefined ? {} : { database }),
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
  }));

const connection = z.strictObject({
  name: z.string().regex(CONNECTION_NAME, {
    error: "expected 1 to 63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
  }),
  protocol,
  labels: z
    .record(
      z.string().regex(LABEL_KEY, {
        error: "label keys are letters, digits, '.', '_', '/' or '-', starting with a letter or digit",
      }),
      z.string(),
    )
    .prefault({}),
  target,
});

const connections = z.array(connection).superRefine(
  (items, ctx) => {
    const firstIndex = new Map<string, number>();
    for (const [index, item] of items.entries()) {
      const name: unknown = (item as { name?: unknown } | undefined)?.name;
      if (typeof name !== "string") continue;
      const first = firstIndex.get(name);
      if (first === undefined) firstIndex.set(name, index);
      else {
        ctx.addIssue({
          code: "custom",
          path: [index, "name"],
          message: `duplicate connection name ${name} (first used by connections[${first}])`,
        });
      }
    }
  },
  // Also run when some items are invalid, so duplicates are reported with everything else.
  { when: (payload) => Array.isArray(payload.value) },
);

const tokens = z
  .strictObject({
    issuer: nonEmptyString.prefault(DEFAULTS.tokens.issuer),
    audience: nonEmptyString.prefault(DEFAULTS.tokens.audience),
    default_ttl: duration(1, 7 * 86_400).prefault(DEFAULTS.tokens.defaultTtl),
    max_ttl: duration(1, 30 * 86_400).prefault(DEFAULTS.tokens.maxTtl),
    leeway: duration(0, 300).prefault(DEFAULTS.tokens.leeway),
  })
  .superRefine((value, ctx) => {
    if (value.default_ttl > value.max_ttl) {
      ctx.addIssue({ code: "custom", path: ["default_ttl"], message: "must not be longer than max_ttl" });
    }
  })
  .transform(
    (value): TokensConfig => ({
      issuer: value.issuer,
      audience: value.audience,
      defaultTtlSeconds: value.default_ttl,
      maxTtlSeconds: value.max_ttl,
      leewaySeconds: value.leeway,
    }),
  );

const limits = z
  .strictObject({
    max_message_bytes: size(1024, 1024 ** 3).prefault(DEFAULTS.limits.maxMessageBytes),
    max_batch_bytes: size(1024, 4 * 1024 ** 3).prefault(DEFAULTS.limits.maxBatchBytes),
    max_connections: z
      .number({ error: unlessMissing("expected a number between 1 and 1000000") })
      .int({ error: "expected a whole number" })
      .min(1)
      .max(1_000_000)
      .prefault(DEFAULTS.limits.maxConnections),
  })
  .superRefine((value, ctx) => {
    if (value.max_batch_bytes < value.max_message_bytes) {
      ctx.addIssue({
        code: "custom",
        path: ["max_batch_bytes"],
        message: "must be at least max_message_bytes",
      });
    }
  })
  .transform(
    (value): LimitsConfig => ({
      maxMessageBytes: value.max_message_bytes,
      maxBatchBytes: value.max_batch_bytes,
      maxConnections: value.max_connections,
    }),
  );

/**
 * The configuration schema. `baseDir` is the configuration file's directory: relative paths
 * are resolved against it. Unknown keys are errors at every level.
 */
export function createConfigSchema(baseDir: string) {
  const filePath = z
    .string({ error: unlessMissing("expected file:<path>") })
    .transform((text, ctx) =>
      text.startsWith("file:") && text.length > "file:".length
        ? resolve(baseDir, text.slice("file:".length))
        : fail(ctx, "expected file:<path>"),
    );

  const store = z
    .string({ error: unlessMissing("expected sqlite:<path> or postgres://<host>/<database>") })
    .transform((text, ctx) => {
      const parsed = parseStoreLocation(text, baseDir);
      return parsed.ok ? parsed.store : fail(ctx, parsed.message);
    });

  const syslogSink = z
    .strictObject({
      type: z.literal("syslog"),
      address: z
        .string({ error: unlessMissing(SYSLOG_ADDRESS_HINT) })
        .transform((text, ctx) => parseSyslogAddress(text) ?? fail(ctx, SYSLOG_ADDRESS_HINT)),
      facility: z
        .string({ error: unlessMissing(SYSLOG_FACILITY_HINT) })
        .transform((name, ctx) => SYSLOG_FACILITIES[name] ?? fail(ctx, SYSLOG_FACILITY_HINT))
        .prefault("local0"),
      hostname: z
        .string()
        .regex(/^[!-~]{1,255}$/, { error: "expected 1 to 255 printable ASCII characters without spaces" })
        .optional(),
      ca: filePath.optional(),
      cursor: filePath.optional(),
    })
    .superRefine((value, ctx) => {
      if (value.ca !== undefined && value.address.transport !== "tls") {
        ctx.addIssue({ code: "custom", path: ["ca"], message: "only for tls:// addresses" });
      }
    })
    .transform(
      (value): ParsedAuditSink => ({
        type: "syslog",
        ...value.address,
        facility: value.facility,
        hostname: value.hostname,
        caPath: value.ca,
        cursorPath: value.cursor,
      }),
    );

  const webhookSink = z
    .strictObject({
      type: z.literal("webhook"),
      url: z.string({ error: unlessMissing("expected an https:// URL") }).transform((text, ctx) => {
        const parsed = parseWebhookUrl(text);
        return parsed.ok ? parsed.url : fail(ctx, parsed.message);
      }),
      secret: secretRef,
      batch_size: z
        .number({ error: unlessMissing("expected a number between 1 and 1000") })
        .int({ error: "expected a whole number" })
        .min(1)
        .max(1000)
        .prefault(100),
      timeout: duration(1, 300).prefault("10s"),
      cursor: filePath.optional(),
    })
    .transform(
      (value): ParsedAuditSink => ({
        type: "webhook",
        url: value.url,
        secret: value.secret,
        batchSize: value.batch_size,
        timeoutSeconds: value.timeout,
        cursorPath: value.cursor,
      }),
    );

  const sink = z.discriminatedUnion(
    "type",
    [z.strictObject({ type: z.literal("jsonl"), path: filePath }), syslogSink, webhookSink],
    {
      error: (issue) =>
        issue.code === "invalid_union" ? "expected jsonl, syslog or webhook (the kind of sink)" : undefined,
    },
  );

  const audit = z
    .strictObject({
      sinks: z
        .array(sink)
        .superRefine(
          (items, ctx) => {
            const seen = new Map<string, number>();
            for (const [index, item] of items.entries()) {
              const identity = sinkIdentity(item);
              if (identity === undefined) continue;
              const first = seen.get(identity.key);
              if (first === undefined) seen.set(identity.key, index);
              else {
                ctx.addIssue({
                  code: "custom",
                  path: [index, identity.field],
                  message: `${identity.what} sinks[${first}]`,
                });
              }
            }
          },
          // Also run when some items are invalid, so duplicates are reported with everything else.
          { when: (payload) => Array.isArray(payload.value) },
        )
        .prefault([]),
      retention: z
        .record(
          z.string().regex(RETENTION_KEY, {
            error: "expected default or an event type such as action.allowed",
          }),
          duration(3600, 100 * 365 * 86_400),
        )
        .optional(),
      retention_interval: duration(60, 7 * 86_400).prefault(DEFAULTS.audit.retentionInterval),
      checkpoint_interval: duration(60, 7 * 86_400).prefault(DEFAULTS.audit.checkpointInterval),
    })
    .transform((value): ParsedAuditConfig => {
      const retention =
        value.retention === undefined
          ? undefined
          : (() => {
              const { default: fallback, ...byType } = value.retention;
              return fallback === undefined ? { byType } : { byType, defaultSeconds: fallback };
            })();
      return {
        sinks: value.sinks,
        retention,
        retentionIntervalSeconds: value.retention_interval,
        checkpointIntervalSeconds: value.checkpoint_interval,
      };
    });

  return z
    .strictObject({
      listeners: z
        .strictObject({
          http: listenAddress.prefault(DEFAULTS.listeners.http),
          postgres: listenAddress.prefault(DEFAULTS.listeners.postgres),
        })
        .prefault({}),
      store: store.prefault(DEFAULTS.store),
      signing_key: filePath.prefault(DEFAULTS.signingKey),
      previous_signing_keys: z
        .array(filePath)
        .max(10, { error: "at most 10 previous signing keys" })
        .prefault([]),
      policies: nonEmptyString.transform((path) => resolve(baseDir, path)).prefault(DEFAULTS.policies),
      tls: z.strictObject({ cert: filePath, key: filePath }).optional(),
      tokens: tokens.prefault({}),
      policy: z.strictObject({ time_zone: timeZone.prefault(DEFAULTS.timeZone) }).prefault({}),
      limits: limits.prefault({}),
      audit: audit.prefault({}),
      recordings: recordingsSchema(baseDir).prefault({}),
      identity: identitySchema.prefault({}),
      masking: z.strictObject({ hash_key: secretRef.optional() }).prefault({}),
      approvals: z
        .strictObject({
          hold: duration(0, 3600).prefault("5m"),
          grants: z
            .strictObject({
              reviewers: z.array(nonEmptyString).prefault([]),
              min_approvals: z.number().int().min(1).max(10).prefault(1),
              max_duration: duration(60, 7 * 86_400).prefault("8h"),
              request_ttl: duration(60, 7 * 86_400).prefault("1h"),
            })
            .prefault({}),
          notifications: approvalNotificationsSchema.prefault([]),
        })
        .prefault({}),
      connections: connections.prefault([]),
    })
    .superRefine((raw, ctx) => {
      const problem = recordingStorageProblem(raw.recordings.storage, raw.store);
      if (problem !== undefined) {
        ctx.issues.push({
          code: "custom",
          message: problem,
          path: ["recordings", "storage"],
          input: undefined,
        });
      }
    })
    .transform(
      (raw): ParsedConfig => ({
        listeners: raw.listeners,
        store: raw.store,
        signingKey: { path: raw.signing_key, previousPaths: raw.previous_signing_keys },
        policies: raw.policies,
        tls: raw.tls === undefined ? undefined : { certPath: raw.tls.cert, keyPath: raw.tls.key },
        tokens: raw.tokens,
        policy: { timeZone: raw.policy.time_zone },
        limits: raw.limits,
        audit: raw.audit,
        recordings: raw.recordings,
        identity: raw.identity,
        masking: raw.masking.hash_key === undefined ? {} : { hashKey: raw.masking.hash_key },
        approvals: {
          holdSeconds: raw.approvals.hold,
          grants: {
            reviewers: raw.approvals.grants.reviewers,
            minApprovals: raw.approvals.grants.min_approvals,
            maxSeconds: raw.approvals.grants.max_duration,
            requestTtlSeconds: raw.approvals.grants.request_ttl,
          },
          notifications: raw.approvals.notifications,
        },
        connections: raw.connections,
      }),
    );
}
