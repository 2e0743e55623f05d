import { resolve } from "node:path";
import type { StoreConfig } from "./types.ts";

export type StoreParse =
  | { readonly ok: true; readonly store: StoreConfig }
  | { readonly ok: false; readonly message: string };

const EXPECTED = "expected sqlite:<path> or postgres://<host>/<database>";

/** Reads `sqlite:<path>` (relative to `baseDir`, or `:memory:`) or a `postgres://` URL without a password. */
export function parseStoreLocation(text: string, baseDir: string): StoreParse {
  if (text.startsWith("sqlite:")) {
    const path = text.slice("sqlite:".length);
    if (path.trim() === "") return { ok: false, message: EXPECTED };
    return { ok: true, store: { kind: "sqlite", path: path === ":memory:" ? path : resolve(baseDir, path) } };
  }
  if (text.startsWith("postgres://") || text.startsWith("postgresql://")) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { ok: false, message: "expected a valid postgres:// URL" };
    }
    if (url.password !== "") {
      return { ok: false, message: "the store URL must not contain a password; set PGPASSWORD instead" };
    }
    return { ok: true, store: { kind: "postgres", url: text } };
  }
  return { ok: false, message: EXPECTED };
}
