import type { ChainedAuditRecord } from "../store/index.ts";

/**
 * Characters that some line readers treat as line ends although JSON leaves them raw (NEL, LINE
 * SEPARATOR, PARAGRAPH SEPARATOR). They occur only inside JSON strings, where an escape means the
 * same: escaping them keeps one event on exactly one line for every reader.
 */
const EXTRA_LINE_ENDS = /[\u0085\u2028\u2029]/g;

/**
 * One event as a JSON line (export and file sinks): the stored row with its chain fields. `data`
 * is the stored data JSON text as is (null when retention removed the body), so the line carries
 * exactly what was hashed. Statement text stays data: control characters are JSON escapes, and
 * the line ends only at its final LF.
 */
export function toJsonLine(record: ChainedAuditRecord): string {
  const head = JSON.stringify({
    seq: record.seq,
    id: record.id,
    time: record.time,
    type: record.type,
    session_id: record.sessionId,
    user: record.user,
    connection: record.connection,
    effect: record.effect,
  });
  const tail = JSON.stringify({ prev_hash: record.prevHash, body_hash: record.bodyHash, hash: record.hash });
  const line = `${head.slice(0, -1)},"data":${record.dataJson ?? "null"},${tail.slice(1)}\n`;
  return line.replace(EXTRA_LINE_ENDS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Reads a line written by {@link toJsonLine} back into a chain row (offline verification). */
export function fromJsonLine(line: string): ChainedAuditRecord {
  const value = JSON.parse(line) as Record<string, unknown>;
  const text = (key: string): string => {
    const v = value[key];
    if (typeof v !== "string") throw new Error(`"${key}" is not a string`);
    return v;
  };
  const nullable = (key: string): string | null => (value[key] === null ? null : text(key));
  const seq = value.seq;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq)) throw new Error(`"seq" is not an integer`);
  return {
    seq,
    id: text("id"),
    time: text("time"),
    type: text("type"),
    sessionId: nullable("session_id"),
    user: nullable("user"),
    connection: nullable("connection"),
    effect: nullable("effect"),
    dataJson: value.data === null || value.data === undefined ? null : JSON.stringify(value.data),
    prevHash: text("prev_hash"),
    bodyHash: text("body_hash"),
    hash: text("hash"),
  };
}
