/**
 * Small accessors for the JSON parse trees libpg-query returns. Nodes in lists and untyped
 * fields are wrapped as `{ NodeType: {...} }`; nodes in typed fields (a statement's `relation`,
 * `withClause`...) are bare objects.
 */

import type { ByteRange } from "./utf8-slices.ts";

export type Obj = { readonly [key: string]: unknown };

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The body of a `{ type: {...} }` wrapper, if `v` is one. */
export function inner(v: unknown, type: string): Obj | undefined {
  if (!isObj(v)) return undefined;
  const n = v[type];
  return isObj(n) ? n : undefined;
}

/** The type of a `{ NodeType: {...} }` wrapper; undefined for a bare object. */
export function wrappedType(v: Obj): string | undefined {
  let type: string | undefined;
  for (const k in v) {
    if (type !== undefined) return undefined;
    type = k;
  }
  if (type === undefined) return undefined;
  const c = type.charCodeAt(0);
  return c >= 65 && c <= 90 ? type : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** The strings of a name list such as `funcname` (`[{String: {sval}}, ...]`). */
export function nameList(list: unknown): string[] {
  const out: string[] = [];
  if (!Array.isArray(list)) return out;
  for (const item of list) out.push(str(inner(item, "String")?.sval) ?? "");
  return out;
}

export interface RawStatement {
  readonly stmt: Obj;
  readonly range: ByteRange;
}

/** The statements of a parse result with their byte ranges in the parsed text. */
export function rawStatements(result: unknown): RawStatement[] {
  const stmts = isObj(result) && Array.isArray(result.stmts) ? result.stmts : [];
  const out: RawStatement[] = [];
  for (const raw of stmts) {
    if (!isObj(raw) || !isObj(raw.stmt)) continue;
    const start = typeof raw.stmt_location === "number" ? raw.stmt_location : 0;
    const length = typeof raw.stmt_len === "number" ? raw.stmt_len : 0;
    out.push({ stmt: raw.stmt, range: { start, length } });
  }
  return out;
}
