import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { dirname, join } from "node:path";
import { type ResolveSecretOptions, resolveSecret, type SecretRef } from "./secret-ref.ts";
import type {
  AuditConfig,
  AuditSinkConfig,
  JsonlSinkConfig,
  SigningKeyConfig,
  StoreConfig,
  SyslogSinkConfig,
  WebhookSinkConfig,
} from "./types.ts";

/** A syslog sink as the schema yields it: the cursor may still be defaulted. */
export interface ParsedSyslogSink extends Omit<SyslogSinkConfig, "cursorPath"> {
  readonly cursorPath: string | undefined;
}

/** A webhook sink as the schema yields it: the secret is still a reference. */
export interface ParsedWebhookSink extends Omit<WebhookSinkConfig, "cursorPath" | "secret"> {
  readonly secret: SecretRef;
  readonly cursorPath: string | undefined;
}

export type ParsedAuditSink = JsonlSinkConfig | ParsedSyslogSink | ParsedWebhookSink;

export type ParsedAuditConfig = Omit<AuditConfig, "sinks"> & { readonly sinks: readonly ParsedAuditSink[] };

/** RFC 5424 facility codes by name. */
export const SYSLOG_FACILITIES: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  audit: 13,
  alert: 14,
  clock: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

export const SYSLOG_ADDRESS_HINT = "expected tcp://host:port, tls://host:port or udp://host:port";
export const SYSLOG_FACILITY_HINT = "expected a syslog facility such as local0, auth or audit";

export interface SyslogAddress {
  readonly transport: "tcp" | "tls" | "udp";
  /** Without brackets for IPv6. */
  readonly host: string;
  readonly port: number;
}

/** Reads `tcp://host:port`, `tls://host:port` or `udp://host:port` (IPv6 in brackets). */
export function parseSyslogAddress(text: string): SyslogAddress | undefined {
  const match = /^(tcp|tls|udp):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const [, transport, rawHost, rawPort] = match;
  const host = rawHost!.startsWith("[") ? rawHost!.slice(1, -1) : rawHost!;
  const port = Number(rawPort);
  if (port < 1 || port > 65_535) return undefined;
  if (rawHost!.startsWith("[") && isIP(host) !== 6) return undefined;
  return { transport: transport as SyslogAddress["transport"], host, port };
}

export function formatSyslogAddress(address: SyslogAddress): string {
  const host = isIP(address.host) === 6 ? `[${address.host}]` : address.host;
  return `${address.transport}://${host}:${address.port}`;
}

export type WebhookUrlParse =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly message: string };

/** An https URL, or http on loopback; never with user:password (the secret is the signature). */
export function parseWebhookUrl(text: string): WebhookUrlParse {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: "expected an https:// URL" };
  }
  if (url.username !== "" || url.password !== "") {
    return { ok: false, message: "the URL must not contain a user or password" };
  }
  if (url.protocol === "https:") return { ok: true, url: url.href };
  if (url.protocol === "http:") {
    return isLoopback(url.hostname)
      ? { ok: true, url: url.href }
      : { ok: false, message: "plain http:// is allowed only on loopback; use https://" };
  }
  return { ok: false, message: "expected an https:// URL" };
}

function isLoopback(hostname: string): boolean {
  const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

/** What two sinks must not share: a file, a receiver, a cursor file. Undefined for an invalid item. */
export function sinkIdentity(item: unknown): { key: string; field: string; what: string } | undefined {
  if (typeof item !== "object" || item === null) return undefined;
  const sink = item as Record<string, unknown>;
  if (sink.type === "jsonl" && typeof sink.path === "string") {
    return { key: `file:${sink.path}`, field: "path", what: "the same file as" };
  }
  if (sink.type === "syslog" && typeof sink.host === "string" && typeof sink.port === "number") {
    const key = formatSyslogAddress(sink as unknown as SyslogAddress);
    return { key: `syslog:${key}`, field: "address", what: "the same receiver as" };
  }
  if (sink.type === "webhook" && typeof sink.url === "string") {
    return { key: `webhook:${sink.url}`, field: "url", what: "the same receiver as" };
  }
  return undefined;
}

/**
 * Where a syslog or webhook sink keeps its cursor when the file does not say: beside the SQLite
 * store (its position belongs to that store), else beside the signing key; one file per receiver.
 */
export function defaultCursorPath(
  sink: ParsedSyslogSink | ParsedWebhookSink,
  store: StoreConfig,
  signingKey: SigningKeyConfig,
): string {
  const dir =
    store.kind === "sqlite" && store.path !== ":memory:" ? dirname(store.path) : dirname(signingKey.path);
  const target = sink.type === "syslog" ? formatSyslogAddress(sink) : sink.url;
  const id = createHash("sha256").update(target).digest("hex").slice(0, 12);
  return join(dir, `audit-sink-${sink.type}-${id}.cursor`);
}

export interface FinishSinksOptions extends ResolveSecretOptions {
  readonly store: StoreConfig;
  readonly signingKey: SigningKeyConfig;
  /** Relative `file:` secret references are read from here. */
  readonly baseDir: string;
  readonly skipSecrets?: boolean;
  /** Called for each webhook secret that cannot be read (the error names the reference only). */
  readonly onSecretError: (index: number, error: unknown) => void;
}

/** The final sinks: cursors defaulted, webhook secrets read and hidden from JSON and inspect output. */
export async function finishAuditSinks(
  sinks: readonly ParsedAuditSink[],
  options: FinishSinksOptions,
): Promise<AuditSinkConfig[]> {
  const finished = await Promise.all(
    sinks.map(async (sink, index): Promise<AuditSinkConfig | undefined> => {
      if (sink.type === "jsonl") return sink;
      const cursorPath = sink.cursorPath ?? defaultCursorPath(sink, options.store, options.signingKey);
      if (sink.type === "syslog") return { ...sink, cursorPath };
      const { secret: ref, ...rest } = sink;
      let secret: string | undefined;
      if (!options.skipSecrets) {
        try {
          secret = await resolveSecret(ref, options.baseDir, options);
        } catch (error) {
          options.onSecretError(index, error);
          return undefined;
        }
      }
      const webhook: WebhookSinkConfig = { ...rest, cursorPath };
      if (secret !== undefined)
        Object.defineProperty(webhook, "secret", { get: () => secret, enumerable: false });
      return webhook;
    }),
  );
  return finished.filter((sink) => sink !== undefined);
}
