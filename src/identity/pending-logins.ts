import { randomBytes } from "node:crypto";

/**
 * Logins in progress (browser redirects, device authorizations), in memory, each usable once
 * and only until it expires. Bounded: when full, the oldest entry is dropped.
 */
export class PendingLogins<T> {
  readonly #entries = new Map<string, { value: T; expiresAt: number }>();
  readonly #max: number;
  readonly #onDrop: ((value: T) => void) | undefined;

  constructor(options: { readonly max?: number; readonly onDrop?: (value: T) => void } = {}) {
    this.#max = options.max ?? 10_000;
    this.#onDrop = options.onDrop;
  }

  /** Stores `value` under a fresh unguessable key (or `key`), for `ttlMs`. */
  put(value: T, ttlMs: number, key = randomBytes(32).toString("base64url")): string {
    this.#sweep();
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#drop(oldest);
    }
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    return key;
  }

  /** The live entry under `key`, left in place. */
  peek(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#drop(key);
      return undefined;
    }
    return entry.value;
  }

  /** The live entry under `key`, removed: a second take finds nothing. */
  take(key: string): T | undefined {
    const value = this.peek(key);
    if (value !== undefined) this.#entries.delete(key);
    return value;
  }

  delete(key: string): void {
    this.#drop(key);
  }

  clear(): void {
    for (const key of [...this.#entries.keys()]) this.#drop(key);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#drop(key);
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#onDrop?.(entry.value);
  }
}
