/**
 * What masking needs to know about the target's relations: names, kinds, columns and view
 * definitions, by OID (RowDescription) and by name (the statement's lineage). Loaded ahead of a
 * masked statement's result, cached for a short time, and read synchronously while rows stream.
 */

import { parseSync } from "libpg-query";
import type { SourceColumn } from "../../../masking/index.ts";
import { rawStatements } from "../sql/parse-tree.ts";
import { type DataRef, type Output, type RelationName, statementLineage } from "./lineage.ts";

/** Runs one catalog query on the target; rows as plain objects. */
export type CatalogQuery = (sql: string, params: readonly unknown[]) => Promise<Record<string, unknown>[]>;

export interface RelationColumn {
  readonly attnum: number;
  readonly name: string;
  readonly typeOid: number;
}

export interface RelationInfo {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  /** pg_class.relkind: r table, p partitioned, f foreign, v view, m materialized view... */
  readonly kind: string;
  readonly columns: readonly RelationColumn[];
  /** Views: per column (attnum order), what it is computed from; null when it could not be read. */
  readonly viewOutputs?: readonly Output[] | null;
}

/** Where values come from: table columns, or "unknown" (every column rule must apply). */
export interface Origins {
  readonly sources: readonly SourceColumn[];
  readonly unresolved: boolean;
}

const RELATIONS_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS viewdef,
  coalesce((SELECT json_agg(json_build_array(a.attnum, a.attname, a.atttypid::int8) ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = ANY($1::text[]) OR c.oid = ANY($2::oid[])`;

const USER_FUNCTIONS_SQL = `
SELECT DISTINCT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = ANY($1::text[]) AND n.nspname NOT IN ('pg_catalog', 'information_schema')`;

const TABLE_KINDS = new Set(["r", "p", "f", "t"]);
const VIEW_KINDS = new Set(["v", "m"]);
/** How deep views over views are followed. */
const MAX_VIEW_DEPTH = 8;
/** Names and OIDs per catalog query. */
const MAX_BATCH = 500;

export class PgCatalog {
  readonly #query: CatalogQuery;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #byOid = new Map<number, RelationInfo>();
  #byName = new Map<string, number[]>();
  #loadedAt = 0;
  /** Function names looked up: true when some schema other than pg_catalog defines one. */
  #userFunctions = new Map<string, boolean>();

  constructor(query: CatalogQuery, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#query = query;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /** Forgets everything (after DDL went through the gateway, or when the cache is stale). */
  clear(): void {
    this.#byOid = new Map();
    this.#byName = new Map();
    this.#userFunctions = new Map();
  }

  /** Loads what `refs` name (relations, functions) and every relation their views read. */
  async loadRefs(refs: readonly DataRef[], oids: Iterable<number> = []): Promise<void> {
    const relations: string[] = [];
    const functions: string[] = [];
    for (const ref of refs) {
      if (ref.kind === "function") functions.push(ref.name);
      else relations.push(ref.relation.name);
    }
    functions.push(...(await this.load(relations, oids)));
    const pending = [...new Set(functions)].filter((f) => !this.#userFunctions.has(f));
    if (pending.length === 0) return;
    const rows = await this.#query(USER_FUNCTIONS_SQL, [pending]);
    const user = new Set(rows.map((r) => String(r.name)));
    for (const name of pending) this.#userFunctions.set(name, user.has(name));
  }

  /** Loads the named relations, the OIDs, and every relation their views read. */
  async load(names: Iterable<string>, oids: Iterable<number> = []): Promise<string[]> {
    const functions: string[] = [];
    if (this.#now() - this.#loadedAt > this.#ttlMs) {
      this.clear();
      this.#loadedAt = this.#now();
    }
    let pendingNames = [...new Set(names)].filter((n) => !this.#byName.has(n));
    let pendingOids = [...new Set(oids)].filter((o) => !this.#byOid.has(o));
    for (
      let depth = 0;
      depth <= MAX_VIEW_DEPTH && (pendingNames.length > 0 || pendingOids.length > 0);
      depth++
    ) {
      if (pendingNames.length + pendingOids.length > MAX_BATCH) {
        throw new Error("the statement reads too many relations to resolve for masking");
      }
      const rows = await this.#query(RELATIONS_SQL, [pendingNames, pendingOids]);
      for (const name of pendingNames) this.#byName.set(name, []);
      const next = new Set<string>();
      for (const row of rows) {
        const info = relationInfo(row);
        this.#byOid.set(info.oid, info);
        const list = this.#byName.get(info.name) ?? [];
        if (!list.includes(info.oid)) list.push(info.oid);
        this.#byName.set(info.name, list);
        for (const output of info.viewOutputs ?? []) {
          for (const ref of output.refs) {
            if (ref.kind === "function") functions.push(ref.name);
            else if (!this.#byName.has(ref.relation.name)) next.add(ref.relation.name);
          }
        }
      }
      pendingNames = [...next];
      pendingOids = [];
    }
    return functions;
  }

  byOid(oid: number): RelationInfo | undefined {
    return this.#byOid.get(oid);
  }

  /** Relations of that name (in every schema when unqualified); empty when none or not loaded. */
  byName(relation: RelationName): RelationInfo[] {
    const oids = this.#byName.get(relation.name) ?? [];
    const out: RelationInfo[] = [];
    for (const oid of oids) {
      const info = this.#byOid.get(oid);
      if (info && (relation.schema === undefined || info.schema === relation.schema)) out.push(info);
    }
    return out;
  }

  /** Where the values of column `attnum` of a relation come from. */
  columnOrigins(info: RelationInfo, attnum: number, depth = 0): Origins {
    const column = info.columns.find((c) => c.attnum === attnum);
    if (column === undefined) return { sources: [], unresolved: true };
    if (!VIEW_KINDS.has(info.kind)) {
      return { sources: [{ schema: info.schema, table: info.name, column: column.name }], unresolved: false };
    }
    const outputs = info.viewOutputs;
    const position = info.columns.indexOf(column);
    const output = outputs?.[position];
    if (
      !outputs ||
      outputs.length !== info.columns.length ||
      output === undefined ||
      depth >= MAX_VIEW_DEPTH
    ) {
      return { sources: [], unresolved: true };
    }
    return this.origins(output.refs, depth + 1);
  }

  /** Where data referenced by name comes from, through views, over-approximated. */
  origins(refs: readonly DataRef[], depth = 0): Origins {
    const sources: SourceColumn[] = [];
    let unresolved = false;
    for (const ref of refs) {
      if (ref.kind === "function") {
        // A function the gateway cannot see into (or never looked up) could return anything.
        if (this.#userFunctions.get(ref.name) !== false) unresolved = true;
        continue;
      }
      const relations = this.byName(ref.relation);
      if (relations.length === 0) {
        // Not in the catalog (a temporary name, a function alias): judge by the name as written.
        if (ref.kind === "row") unresolved = true;
        else
          sources.push({
            ...(ref.relation.schema === undefined ? {} : { schema: ref.relation.schema }),
            table: ref.relation.name,
            column: ref.column,
          });
        continue;
      }
      for (const info of relations) {
        const attnums =
          ref.kind === "row"
            ? info.columns.map((c) => c.attnum)
            : info.columns.filter((c) => c.name === ref.column).map((c) => c.attnum);
        if (ref.kind === "column" && TABLE_KINDS.has(info.kind) && attnums.length === 0) {
          sources.push({ schema: info.schema, table: info.name, column: ref.column });
        }
        for (const attnum of attnums) {
          const o = this.columnOrigins(info, attnum, depth);
          sources.push(...o.sources);
          if (o.unresolved) unresolved = true;
        }
      }
    }
    return { sources, unresolved };
  }

  /** Column count of a relation for expanding `*`, when the name is unambiguous. */
  width(relation: RelationName): number | undefined {
    const found = this.byName(relation);
    const widths = new Set(found.map((r) => r.columns.length));
    return widths.size === 1 ? [...widths][0] : undefined;
  }
}

function relationInfo(row: Record<string, unknown>): RelationInfo {
  const columns = (Array.isArray(row.columns) ? row.columns : JSON.parse(String(row.columns))) as [
    number,
    string,
    number,
  ][];
  const info = {
    oid: Number(row.oid),
    schema: String(row.schema),
    name: String(row.name),
    kind: String(row.kind),
    columns: columns.map(([attnum, name, typeOid]) => ({ attnum, name, typeOid: Number(typeOid) })),
  };
  if (typeof row.viewdef !== "string") return info;
  return { ...info, viewOutputs: viewOutputs(row.viewdef) };
}

function viewOutputs(definition: string): readonly Output[] | null {
  try {
    const [statement] = rawStatements(parseSync(definition));
    return statement ? (statementLineage(statement.stmt).outputs ?? null) : null;
  } catch {
    return null;
  }
}
