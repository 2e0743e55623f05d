import type { Chunk } from "./chunk.ts";
import type { StartEvent } from "./events.ts";
import { renderChunk, renderHeader } from "./timeline.ts";

/**
 * asciicast v2 (the asciinema format): a header line `{"version":2,"width":…,"height":…,
 * "timestamp":…}`, then one `[seconds, code, data]` line per event: `o` output, `i` input,
 * `r` resize (`"WxH"`). Terminal sessions export their own data, which is terminal data by design.
 * Other sessions (PostgreSQL) export their escaped text timeline as output, so a statement's text
 * cannot drive the player's terminal.
 */
export type AsciicastEvent = readonly [number, "o" | "i" | "r", string];

const DEFAULT_SIZE = { width: 80, height: 24 };

/** A terminal session is one whose start chunk has a terminal size (adapters of terminal protocols pass one to `begin`). */
export function isTerminalSession(start: StartEvent | undefined): boolean {
  return start !== undefined && start.terminal !== null && typeof start.terminal === "object";
}

export function asciicastHeader(sessionId: string, start: StartEvent | undefined): string {
  const size = start?.terminal ?? DEFAULT_SIZE;
  const startedAt = start === undefined ? Number.NaN : Date.parse(start.started_at);
  const header: Record<string, unknown> = { version: 2, width: size.width, height: size.height };
  if (Number.isFinite(startedAt)) header.timestamp = Math.floor(startedAt / 1000);
  header.title = start ? `sluice ${sessionId}: ${start.user} on ${start.connection}` : `sluice ${sessionId}`;
  return `${JSON.stringify(header)}\n`;
}

/** The asciicast events of one chunk. */
export function asciicastEvents(
  chunk: Chunk,
  terminal: boolean,
  startedAt: number,
  sessionId: string,
): AsciicastEvent[] {
  const time = Math.round(chunk.t) / 1000;
  const e = chunk.event;
  if (terminal) {
    switch (e.type) {
      case "output":
        return [[time, "o", String(e.data)]];
      case "input":
        return [[time, "i", String(e.data)]];
      case "resize":
        return [[time, "r", `${Number(e.width)}x${Number(e.height)}`]];
      default:
        return [];
    }
  }
  const lines =
    e.type === "start"
      ? [...renderHeader(sessionId, e), ...renderChunk(chunk, startedAt)]
      : renderChunk(chunk, startedAt);
  return [[time, "o", `${lines.join("\r\n")}\r\n`]];
}

export function asciicastLine(event: AsciicastEvent): string {
  return `${JSON.stringify(event)}\n`;
}

/** A whole recording as an asciicast v2 document. */
export function toAsciicast(sessionId: string, chunks: readonly Chunk[]): string {
  const startChunk = chunks.find((c) => c.event.type === "start");
  const start = startChunk?.event.type === "start" ? startChunk.event : undefined;
  const startedAt = start ? Date.parse(start.started_at) : Number.NaN;
  const terminal = isTerminalSession(start);
  let out = asciicastHeader(sessionId, start);
  for (const chunk of chunks) {
    for (const event of asciicastEvents(chunk, terminal, startedAt, sessionId)) out += asciicastLine(event);
  }
  return out;
}
