import type { Action, Decision, Effect, SessionContext } from "../core/index.ts";

/**
 * What a session recording holds, one event per chunk (docs/recording.md#events). Field names
 * are the stored JSON's (snake_case, like audit data). User-supplied text (statements, cells,
 * terminal data) is stored as JSON strings and never interpreted.
 */

/** A cell of a result row as the client received it (text format; masked); null is SQL NULL. */
export type Cell = string | null;

/** The client sent a command and the gate decided it (PostgreSQL: one SQL statement). */
export interface StatementEvent {
  readonly type: "statement";
  /** The exact text as the client sent it. */
  readonly text: string;
  readonly effect: Effect;
  readonly reason_code: string;
  readonly reason: string;
  readonly rule_ids: readonly string[];
}

/** The outcome of the statement before it. */
export interface ResultEvent {
  readonly type: "result";
  /** Column names of a row-returning statement; null when it returned no rows description. */
  readonly columns: readonly string[] | null;
  /** Rows as the client received them (masked), at most the per-statement cap. */
  readonly rows: readonly (readonly Cell[])[];
  /** Rows the client received that are not in `rows` (over the cap). */
  readonly rows_omitted: number;
  /** The server's command tag (`SELECT 2`, `UPDATE 5`), or null when it ended in an error. */
  readonly command_tag: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly duration_ms: number;
}

/** Terminal output (target → client) for SSH/exec sessions: UTF-8 text as received. */
export interface OutputEvent {
  readonly type: "output";
  readonly data: string;
}

/** Terminal input (client → target). */
export interface InputEvent {
  readonly type: "input";
  readonly data: string;
}

/** The client's terminal changed size. */
export interface ResizeEvent {
  readonly type: "resize";
  readonly width: number;
  readonly height: number;
}

/** The events a protocol adapter (through the gate) records. */
export type RecordingEvent = StatementEvent | ResultEvent | OutputEvent | InputEvent | ResizeEvent;

/** The first chunk of every recording: who, where, when, and the limits in force. */
export interface StartEvent {
  readonly type: "start";
  readonly format: typeof RECORDING_FORMAT;
  readonly session_id: string;
  readonly user: string;
  readonly groups: readonly string[];
  readonly principal_kind: string;
  readonly on_behalf_of: string | null;
  readonly connection: string;
  readonly protocol: string;
  readonly client_address: string;
  /** ISO time; chunk offsets `t` count from here. */
  readonly started_at: string;
  readonly limits: { readonly max_bytes: number; readonly max_rows_per_statement: number };
  /** The terminal size at the start, for terminal sessions. */
  readonly terminal: { readonly width: number; readonly height: number } | null;
}

/**
 * Something was left out on purpose: rows over the per-statement cap (`rows`), or everything
 * after the session reached its size cap (`size`). The chain covers the marker like any chunk.
 */
export interface TruncatedEvent {
  readonly type: "truncated";
  readonly reason: "rows" | "size";
  readonly limit: number;
  /** For `rows`: rows kept and rows left out of the result before this marker. */
  readonly kept?: number;
  readonly omitted?: number;
}

/** The last chunk: why the session ended and what the size cap left out. */
export interface EndEvent {
  readonly type: "end";
  readonly reason: string;
  readonly ended_at: string;
  readonly dropped_events: number;
  readonly dropped_bytes: number;
}

/** Every event a stored chunk can hold. */
export type StoredEvent = RecordingEvent | StartEvent | TruncatedEvent | EndEvent;
export type StoredEventType = StoredEvent["type"];

export const RECORDING_FORMAT = "sluice.recording.v1";

/** Which way the event went: `in` client → target, `out` target → client, `meta` the gateway's own. */
export type Direction = "in" | "out" | "meta";

const DIRECTIONS: Readonly<Record<StoredEventType, Direction>> = {
  statement: "in",
  input: "in",
  resize: "in",
  result: "out",
  output: "out",
  start: "meta",
  truncated: "meta",
  end: "meta",
};

export function directionOf(type: StoredEventType): Direction {
  return DIRECTIONS[type];
}

export function isStoredEventType(type: unknown): type is StoredEventType {
  return typeof type === "string" && Object.hasOwn(DIRECTIONS, type);
}

/** The statement event for an action and the gate's decision on it. */
export function statementEvent(action: Pick<Action, "text">, decision: Decision): StatementEvent {
  return {
    type: "statement",
    text: action.text,
    effect: decision.effect,
    reason_code: decision.reasonCode,
    reason: decision.reason,
    rule_ids: [...decision.ruleIds],
  };
}

/** A result event; omitted fields default to "nothing" (no columns, no rows, no error). */
export function resultEvent(result: {
  readonly columns?: readonly string[] | null;
  readonly rows?: readonly (readonly Cell[])[];
  readonly rowsOmitted?: number;
  readonly commandTag?: string | null;
  readonly error?: { readonly code: string; readonly message: string } | null;
  readonly durationMs: number;
}): ResultEvent {
  return {
    type: "result",
    columns: result.columns ?? null,
    rows: result.rows ?? [],
    rows_omitted: result.rowsOmitted ?? 0,
    command_tag: result.commandTag ?? null,
    error: result.error ?? null,
    duration_ms: result.durationMs,
  };
}

/** The start event of a session. */
export function startEvent(
  session: SessionContext,
  startedAt: Date,
  limits: StartEvent["limits"],
  terminal: StartEvent["terminal"] = null,
): StartEvent {
  const { principal, connection } = session;
  return {
    type: "start",
    format: RECORDING_FORMAT,
    session_id: session.id,
    user: principal.user,
    groups: [...principal.groups],
    principal_kind: principal.kind,
    on_behalf_of: principal.onBehalfOf?.user ?? null,
    connection: connection.name,
    protocol: connection.protocol,
    client_address: session.clientAddress,
    started_at: startedAt.toISOString(),
    limits,
    terminal,
  };
}
