import { createHmac, createSecretKey, type KeyObject } from "node:crypto";

/** How a value is hidden. Mirrors the policy's `mask.strategy`. */
export type MaskStrategy = "redact" | "partial" | "hash" | "null";

export const MASK_STRATEGIES: readonly MaskStrategy[] = ["redact", "partial", "hash", "null"];

/**
 * Which strategy wins when several rules mask the same value: the one that reveals least.
 * `null` hides even the shape, `redact` shows a fixed token, `hash` shows only equality,
 * `partial` shows the tail.
 */
export const STRATEGY_STRENGTH: Readonly<Record<MaskStrategy, number>> = {
  partial: 0,
  hash: 1,
  redact: 2,
  null: 3,
};

export function strongest(a: MaskStrategy, b: MaskStrategy): MaskStrategy {
  return STRATEGY_STRENGTH[b] > STRATEGY_STRENGTH[a] ? b : a;
}

export const DEFAULT_REDACT_TOKEN = "[MASKED]";

/** `redact`: the fixed token, whatever the value. */
export function redact(token: string = DEFAULT_REDACT_TOKEN): string {
  return token;
}

/**
 * `redact` for a value whose type may not hold text (a number, a date, a UUID column): the caller
 * says whether the token can stand in for it; when not, the value becomes null.
 */
export function redactOrNull(holdsText: boolean, token: string = DEFAULT_REDACT_TOKEN): string | null {
  return holdsText ? token : null;
}

export interface PartialOptions {
  /** Characters kept at the end (default 4); never more than half of the value. */
  readonly keep?: number;
  /** Keep characters that are neither letters nor digits (`-`, ` `, `@`, `.`) in place (default false). */
  readonly keepSeparators?: boolean;
  /** Replacement for each hidden character (default `*`). */
  readonly fill?: string;
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/**
 * `partial`: keeps the last `keep` characters (code points, so no surrogate pair is split) and
 * replaces the rest with `*`. At most half of a value is ever kept, so short values stay mostly
 * hidden: `4111111111111111` → `************1111`, `secret` → `***ret`, `abc` → `**c`, `x` → `*`.
 */
export function partial(value: string, options: PartialOptions = {}): string {
  const keep = options.keep ?? 4;
  const fill = options.fill ?? "*";
  const chars = Array.from(value);
  const kept = Math.min(keep, Math.floor(chars.length / 2));
  let out = "";
  for (let i = 0; i < chars.length - kept; i++) {
    const c = chars[i]!;
    out += options.keepSeparators === true && !LETTER_OR_DIGIT.test(c) ? c : fill;
  }
  for (let i = chars.length - kept; i < chars.length; i++) out += chars[i];
  return out;
}

/** Smallest key the `hash` strategy accepts, in bytes. */
export const MIN_HASH_KEY_BYTES = 16;

export interface HashOptions {
  /** Hex characters of the HMAC kept in the token (default 12, i.e. 48 bits; even, 8 to 64). */
  readonly hexLength?: number;
  /** Token prefix (default `h:`). */
  readonly prefix?: string;
}

/**
 * `hash`: a keyed, stable token, HMAC-SHA256 of the value's UTF-8 bytes under the gateway's key,
 * truncated: `h:3f2a9c1b7d04`. The same value and key always give the same token, so joins,
 * GROUP BY and distinct counts still work on masked data; without the key the token cannot be
 * reversed or checked against guesses. 48 bits make collisions unlikely below millions of
 * distinct values (birthday bound about 16 million); raise `hexLength` for more.
 */
export function createHasher(key: string | Uint8Array, options: HashOptions = {}): (value: string) => string {
  const bytes = typeof key === "string" ? Buffer.from(key, "utf8") : key;
  if (bytes.byteLength < MIN_HASH_KEY_BYTES) {
    throw new RangeError(`the hash key must have at least ${MIN_HASH_KEY_BYTES} bytes`);
  }
  const hexLength = options.hexLength ?? 12;
  if (!Number.isInteger(hexLength) || hexLength < 8 || hexLength > 64 || hexLength % 2 !== 0) {
    throw new RangeError("hexLength must be an even integer from 8 to 64");
  }
  const prefix = options.prefix ?? "h:";
  const secret: KeyObject = createSecretKey(bytes);
  return (value) =>
    prefix + createHmac("sha256", secret).update(value, "utf8").digest("hex").slice(0, hexLength);
}

/** `null`: the value is replaced by SQL NULL / JSON null. */
export function nullify(): null {
  return null;
}
