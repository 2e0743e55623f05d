import { PostgresStore } from "./postgres-store.ts";
import { SqliteStore } from "./sqlite-store.ts";
import type { Store } from "./store.ts";

export type StoreLocation =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly url: string };

export interface OpenStoreOptions {
  /** Where the store reports what it cannot return (a lost notification connection). Default: stderr. */
  readonly log?: (message: string) => void;
}

/**
 * Opens the configured store. SQLite opens (and upgrades the file) right away; PostgreSQL
 * connects and creates or checks its schema on first use — `await store.ready()` to find out
 * now. Its password comes from libpq's PGPASSWORD or password file, never from the URL.
 */
export function openStore(location: StoreLocation, options: OpenStoreOptions = {}): Store {
  const log = options.log === undefined ? {} : { log: options.log };
  if (location.kind === "sqlite") return new SqliteStore(location.path, log);
  return new PostgresStore({ url: location.url, ...log });
}
