import type { ChainedAuditRecord } from "../store/index.ts";
import { toJsonLine } from "./export-line.ts";

/**
 * The SD-ID of the structured data element. 32473 is the private enterprise number reserved for
 * documentation (RFC 5612); receivers match on the whole `sluice@32473`.
 */
export const SYSLOG_SD_ID = "sluice@32473";
export const SYSLOG_APP_NAME = "sluice";

export interface SyslogHeader {
  /** Facility code, 0..23. */
  readonly facility: number;
  /** HOSTNAME; reduced to printable ASCII without spaces, at most 255 characters. */
  readonly hostname: string;
  /** PROCID, usually the process id. */
  readonly procId: string;
}

/** Severity per event: denials warn, failed reloads are errors, the gateway's own bookkeeping is a notice. */
export function syslogSeverity(type: string): number {
  if (type === "action.denied") return 4; // warning
  if (type === "policy.reload_failed") return 3; // error
  if (type.startsWith("audit.") || type.startsWith("policy.")) return 5; // notice
  return 6; // informational
}

/**
 * One event as one RFC 5424 message (without transport framing):
 *
 * `<PRI>1 TIMESTAMP HOSTNAME sluice PROCID MSGID [sluice@32473 seq=".." ...] MSG`
 *
 * MSGID is the event type; MSG is the event's export line (`toJsonLine`) with every character
 * outside printable ASCII written as a JSON `\uXXXX` escape: the message is pure ASCII (so it needs
 * no BOM), contains no line break or control character whatever a statement held, and still
 * parses to exactly the exported event.
 */
export function formatSyslogMessage(record: ChainedAuditRecord, header: SyslogHeader): string {
  const pri = header.facility * 8 + syslogSeverity(record.type);
  const timestamp = RFC5424_TIMESTAMP.test(record.time) ? record.time : "-";
  const params: [string, string | null][] = [
    ["seq", String(record.seq)],
    ["id", record.id],
    ["hash", record.hash],
    ["prev_hash", record.prevHash],
    ["effect", record.effect],
    ["user", record.user],
    ["connection", record.connection],
    ["session_id", record.sessionId],
  ];
  const sd = params
    .filter((param): param is [string, string] => param[1] !== null)
    .map(([name, value]) => ` ${name}="${escapeParamValue(value)}"`)
    .join("");
  const msg = asciiOnly(toJsonLine(record).slice(0, -1));
  return [
    `<${pri}>1`,
    timestamp,
    headerField(header.hostname, 255),
    SYSLOG_APP_NAME,
    headerField(header.procId, 128),
    headerField(record.type, 32),
    `[${SYSLOG_SD_ID}${sd}]`,
    msg,
  ].join(" ");
}

/** RFC 6587 octet counting: the message's length in bytes, a space, the message. */
export function frameOctetCounted(message: string): Buffer {
  const body = Buffer.from(message, "utf8");
  return Buffer.concat([Buffer.from(`${body.length} `, "ascii"), body]);
}

/**
 * An RFC 5424 PARAM-VALUE: `"`, `\` and `]` are escaped with a backslash (section 6.3.3).
 * Control characters (C0, DEL, C1, line and paragraph separators) are written as the visible
 * text `\uXXXX`, so that no value can end a line for a line-oriented reader.
 */
export function escapeParamValue(value: string): string {
  return (
    value
      .replace(/[\\"\]]/g, (c) => `\\${c}`)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, unicodeEscape)
  );
}

/** A header field: printable US-ASCII without spaces, at most `max` characters, `-` when empty. */
export function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\u0021-\u007e]/g, "_").slice(0, max);
  return clean === "" ? "-" : clean;
}

/**
 * JSON text with every code unit outside printable ASCII as a `\uXXXX` escape. Only valid on
 * JSON text whose control characters are already escaped (they appear only inside strings, where
 * the escape means the same character).
 */
export function asciiOnly(json: string): string {
  return json.replace(/[^\u0020-\u007e]/g, unicodeEscape);
}

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** FULL-DATE "T" PARTIAL-TIME TIME-OFFSET, at most 6 fraction digits (RFC 5424 section 6.2.3). */
const RFC5424_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$/;
