import { SluiceError } from "../core/index.ts";
import { SqliteStore } from "./sqlite-store.ts";
import type { Store } from "./store.ts";

export type StoreLocation =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly url: string };

export function openStore(location: StoreLocation): Store {
  if (location.kind === "sqlite") return new SqliteStore(location.path);
  throw new SluiceError(
    "SLUICE_STORE_UNSUPPORTED",
    "the PostgreSQL store is not available yet; use sqlite:",
    {
      expose: true,
    },
  );
}
