import { bodyHash, GENESIS_HASH, linkHash } from "../store/index.ts";
import { type Direction, directionOf, isStoredEventType, type StoredEvent } from "./events.ts";

/**
 * One link of a recording's hash chain, stored as one JSON line:
 *
 *   {"seq":1,"t":0,"dir":"meta","event":{…},"prev":"000…","hash":"…"}
 *
 * The hashes are the audit chain's own (src/store/chain.ts), with the chunk's fields in the
 * audit row's places (docs/recording.md#chain):
 *
 *   body_hash = bodyHash(session_id, null, null, dir, JSON(event))
 *   hash      = linkHash(seq, prev, session_id, String(t), "recording." + event.type, body_hash)
 *
 * so a chunk is bound to its session, its place, its time offset, its direction and its event.
 * The `recording.` type prefix never occurs in the audit trail, so a chunk hash can never pass for
 * an audit event's hash or the other way round.
 */
export interface Chunk {
  readonly seq: number;
  /** Milliseconds since the session started (never decreasing). */
  readonly t: number;
  readonly dir: Direction;
  readonly event: StoredEvent;
  readonly prev: string;
  readonly hash: string;
}

/** The last line of a sealed recording: the gateway's signature over its end. */
export interface Seal {
  readonly session_id: string;
  /** How many chunks the recording has (the last chunk's seq). */
  readonly chunks: number;
  readonly last_hash: string;
  readonly sealed_at: string;
  readonly kid: string;
  /** Compact JWS (ES256, typ `sluice-recording-seal+jws`) over session_id, chunks, last_hash. */
  readonly jws: string;
}

export { GENESIS_HASH };

const TYPE_PREFIX = "recording.";

export function chunkHash(
  sessionId: string,
  chunk: Pick<Chunk, "seq" | "t" | "dir" | "event" | "prev">,
): string {
  const body = bodyHash({
    sessionId,
    user: null,
    connection: null,
    effect: chunk.dir,
    dataJson: JSON.stringify(chunk.event),
  });
  return linkHash(
    {
      seq: chunk.seq,
      prevHash: chunk.prev,
      id: sessionId,
      time: String(chunk.t),
      type: TYPE_PREFIX + chunk.event.type,
    },
    body,
  );
}

/** Builds the next chunk after `prev` (the previous chunk's hash; GENESIS_HASH for seq 1). */
export function makeChunk(
  sessionId: string,
  seq: number,
  t: number,
  event: StoredEvent,
  prev: string,
): Chunk {
  const dir = directionOf(event.type);
  return { seq, t, dir, event, prev, hash: chunkHash(sessionId, { seq, t, dir, event, prev }) };
}

/**
 * One JSON line ending in LF. U+2028 and U+2029 are escaped too, so that every chunk is exactly one
 * line for any line reader; JSON.parse reads them back as the same characters.
 */
export function toLine(value: Chunk | { readonly seal: Seal }): string {
  return `${JSON.stringify(value)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")}\n`;
}

const HASH = /^[0-9a-f]{64}$/;

export type ParsedLine =
  | { readonly kind: "chunk"; readonly chunk: Chunk }
  | { readonly kind: "seal"; readonly seal: Seal }
  | { readonly kind: "malformed"; readonly reason: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Reads one stored line (without its LF). Never throws. */
export function parseLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "malformed", reason: "not JSON" };
  }
  if (!isObject(value)) return { kind: "malformed", reason: "not a JSON object" };
  if ("seal" in value) {
    const s = value.seal;
    if (
      isObject(s) &&
      typeof s.session_id === "string" &&
      Number.isSafeInteger(s.chunks) &&
      typeof s.last_hash === "string" &&
      typeof s.sealed_at === "string" &&
      typeof s.kid === "string" &&
      typeof s.jws === "string"
    ) {
      return { kind: "seal", seal: s as unknown as Seal };
    }
    return { kind: "malformed", reason: "a seal without its fields" };
  }
  const { seq, t, dir, event, prev, hash } = value;
  if (
    !Number.isSafeInteger(seq) ||
    (seq as number) < 1 ||
    typeof t !== "number" ||
    !Number.isFinite(t) ||
    t < 0 ||
    (dir !== "in" && dir !== "out" && dir !== "meta") ||
    !isObject(event) ||
    !isStoredEventType(event.type) ||
    typeof prev !== "string" ||
    !HASH.test(prev) ||
    typeof hash !== "string" ||
    !HASH.test(hash)
  ) {
    return { kind: "malformed", reason: "not a recording chunk" };
  }
  return {
    kind: "chunk",
    chunk: { seq: seq as number, t, dir, event: event as unknown as StoredEvent, prev, hash },
  };
}
