import type { Chunk } from "./chunk.ts";
import type { StartEvent } from "./events.ts";

/**
 * The text timeline of `sluice replay`. Everything that came from a user, a client or a server
 * (statements, cells, column names, reasons, terminal data, even user and connection names) passes
 * through `escapeText`, so it cannot start a new line, move the cursor or change the terminal.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * One terminal line of text: line breaks, control characters (C0, DEL, C1, ESC of ANSI sequences),
 * Unicode line/paragraph separators and bidirectional overrides become visible escapes.
 */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/** Any stored value as escaped text (a tampered event may hold anything). */
function text(value: unknown): string {
  if (typeof value === "string") return escapeText(value);
  if (value === undefined) return "";
  return escapeText(JSON.stringify(value) ?? "");
}

function list(value: unknown): string {
  return Array.isArray(value) ? value.map(text).join(",") : text(value);
}

const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);

export interface TimelineOptions {
  /** Cells and column names longer than this are cut with `…`. Default 40. */
  readonly maxCellWidth?: number;
}

/** The heading lines of a recording, from its start chunk (or just the id when it is missing). */
export function renderHeader(sessionId: string, start: StartEvent | undefined): string[] {
  if (start === undefined) return [`recording ${escapeText(sessionId)} (no start chunk)`];
  const who = start.on_behalf_of ? `${text(start.user)} (for ${text(start.on_behalf_of)})` : text(start.user);
  return [
    `recording ${escapeText(sessionId)}`,
    `user ${who}  groups [${list(start.groups)}]  connection ${text(start.connection)} (${text(start.protocol)})  from ${text(start.client_address)}`,
    `started ${text(start.started_at)}`,
  ];
}

/** The time column: wall clock (UTC) and offset from the start. */
function stamp(startedAt: number, t: number): string {
  const wall = Number.isFinite(startedAt)
    ? new Date(startedAt + t).toISOString().slice(11, 23)
    : "--:--:--.---";
  return `${wall} ${`+${(t / 1000).toFixed(3)}s`.padStart(10)}`;
}

const INDENT = " ".repeat(24);

/** The lines of one chunk. `startedAt` is the start event's time in ms (NaN when unknown). */
export function renderChunk(chunk: Chunk, startedAt: number, options: TimelineOptions = {}): string[] {
  const head = stamp(startedAt, num(chunk.t));
  const e = chunk.event as unknown as Record<string, unknown>;
  switch (chunk.event.type) {
    case "start":
      return [`${head}  * session start`];
    case "statement": {
      const effect = e.effect === "allow" ? "allow" : String(text(e.effect)).toUpperCase();
      const rules = list(e.rule_ids) || "-";
      const why = e.effect === "allow" ? text(e.reason_code) : `${text(e.reason_code)}: ${text(e.reason)}`;
      return [`${head}  > ${text(e.text)}`, `${INDENT}${effect}  rules [${rules}]  ${why}`];
    }
    case "result":
      return renderResult(head, e, options.maxCellWidth ?? 40);
    case "output":
      return [`${head}  o "${text(e.data)}"`];
    case "input":
      return [`${head}  i "${text(e.data)}"`];
    case "resize":
      return [`${head}  resize ${num(e.width)}x${num(e.height)}`];
    case "truncated":
      return e.reason === "rows"
        ? [
            `${head}  ! truncated: ${num(e.omitted)} more rows not recorded (limit ${num(e.limit)} per statement)`,
          ]
        : [
            `${head}  ! truncated: the recording reached its size limit (${num(e.limit)} bytes); later events not recorded`,
          ];
    case "end": {
      const dropped =
        num(e.dropped_events) > 0
          ? `  (${num(e.dropped_events)} events over the size limit not recorded)`
          : "";
      return [`${head}  * session end: ${text(e.reason)}${dropped}`];
    }
    default:
      return [`${head}  ? ${text(e)}`];
  }
}

function renderResult(head: string, e: Record<string, unknown>, maxWidth: number): string[] {
  const ms = `${num(e.duration_ms)} ms`;
  const error = e.error as { code?: unknown; message?: unknown } | null | undefined;
  const rows = Array.isArray(e.rows) ? (e.rows as unknown[]) : [];
  const omitted = num(e.rows_omitted);
  if (error) return [`${head}  < ERROR ${text(error.code)}: ${text(error.message)}  ${ms}`];
  const total = rows.length + omitted;
  const count = Array.isArray(e.columns) ? `  ${total} row${total === 1 ? "" : "s"}` : "";
  const tag =
    e.command_tag === null || e.command_tag === undefined ? "(no command tag)" : text(e.command_tag);
  const lines = [`${head}  < ${tag}${count}  ${ms}`];
  if (Array.isArray(e.columns)) {
    const cut = (s: string) => (s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s);
    const columns = (e.columns as unknown[]).map((c) => cut(text(c)));
    const cells = rows.map((row) =>
      columns.map((_, i) => {
        const value = Array.isArray(row) ? (row as unknown[])[i] : undefined;
        return cut(value === null ? "(null)" : text(value));
      }),
    );
    const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
    const line = (values: string[]) =>
      `${INDENT}${values.map((v, i) => v.padEnd(widths[i]!)).join(" | ")}`.trimEnd();
    lines.push(line(columns), `${INDENT}${widths.map((w) => "-".repeat(w)).join("-+-")}`);
    for (const row of cells) lines.push(line(row));
    if (omitted > 0) lines.push(`${INDENT}(${omitted} more rows not recorded)`);
  }
  return lines;
}
