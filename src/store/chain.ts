import { hash } from "node:crypto";

/**
 * The audit hash chain, defined once (docs/audit.md#hash-chain). Every stored event has
 *
 *   body_hash = sha256( JSON(["sluice.audit.body.v1", session_id, user, connection, effect]) LF data )
 *   hash      = sha256( JSON(["sluice.audit.v1", seq, prev_hash, id, time, type, body_hash]) )
 *
 * where JSON is ECMAScript `JSON.stringify` (no whitespace; it never emits a raw line feed, so the
 * LF ends the header unambiguously), `data` is the stored data JSON text exactly, strings are
 * UTF-8, null stays `null`, seq is a JSON integer, hashes are lowercase hex, and the first
 * event's prev_hash is {@link GENESIS_HASH}. A row whose body was removed by retention keeps
 * seq, id, time, type and the three hashes, so the links through it still verify.
 */
export const GENESIS_HASH = "0".repeat(64);

const BODY_TAG = "sluice.audit.body.v1";
const LINK_TAG = "sluice.audit.v1";

/** The fields an event's body hash covers: everything retention may remove. */
export interface ChainBody {
  readonly sessionId: string | null;
  readonly user: string | null;
  readonly connection: string | null;
  readonly effect: string | null;
  /** The stored data JSON text, byte for byte. */
  readonly dataJson: string;
}

/** The fields an event's own hash covers besides its body hash. */
export interface ChainLink {
  readonly seq: number;
  readonly prevHash: string;
  readonly id: string;
  readonly time: string;
  readonly type: string;
}

export function bodyHash(body: ChainBody): string {
  const header = JSON.stringify([BODY_TAG, body.sessionId, body.user, body.connection, body.effect]);
  return hash("sha256", `${header}\n${body.dataJson}`, "hex");
}

export function linkHash(link: ChainLink, bodyHashHex: string): string {
  const encoded = JSON.stringify([
    LINK_TAG,
    link.seq,
    link.prevHash,
    link.id,
    link.time,
    link.type,
    bodyHashHex,
  ]);
  return hash("sha256", encoded, "hex");
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes a string storable byte for byte: a lone UTF-16 surrogate (possible in a token claim)
 * becomes U+FFFD, as it would when written as UTF-8, so the hashed text is the stored text.
 */
export function wellFormed<T extends string | null>(text: T): T {
  if (text === null || (text as unknown as { isWellFormed(): boolean }).isWellFormed()) return text;
  return text.replace(LONE_SURROGATE, "\uFFFD") as T;
}
