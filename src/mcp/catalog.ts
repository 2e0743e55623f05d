/**
 * `describe_connection`: the catalog query it runs (through the gateway, like any statement) and
 * the shaping of its rows, with the columns the caller's mask rules cover marked.
 */
import type { MaskRequirement } from "../core/index.ts";
import { ColumnPattern, type MaskStrategy, strongest } from "../masking/index.ts";
import type { StatementResult } from "./capped-query.ts";
import type { ToolOutput } from "./tools.ts";

const RELATION_KINDS: Readonly<Record<string, string>> = {
  r: "table",
  p: "partitioned table",
  v: "view",
  m: "materialized view",
  f: "foreign table",
};

/**
 * The catalog query: plain columns of pg_catalog tables (no functions, so policies on
 * `sql.functions` see nothing unusual), user schemas only. Filters are identifiers the tool's
 * schema already restricted to `[A-Za-z_][A-Za-z0-9_$]*`, so quoting them as literals is exact.
 */
export function catalogSql(filter: { schema?: string; table?: string }): string {
  const where = [
    "a.attnum > 0",
    "NOT a.attisdropped",
    "c.relkind IN ('r', 'p', 'v', 'm', 'f')",
    "n.nspname <> 'information_schema'",
    "n.nspname NOT LIKE 'pg\\_%'",
  ];
  if (filter.schema !== undefined) where.push(`n.nspname = ${literal(filter.schema)}`);
  if (filter.table !== undefined) where.push(`c.relname = ${literal(filter.table)}`);
  return [
    "SELECT n.nspname, c.relname, c.relkind::text, a.attname, a.atttypid::regtype::text, a.attnotnull",
    "FROM pg_catalog.pg_attribute a",
    "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid",
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
    `WHERE ${where.join(" AND ")}`,
    "ORDER BY n.nspname, c.relname, a.attnum",
  ].join("\n");
}

function literal(identifier: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(identifier)) throw new RangeError("not a plain identifier");
  return `'${identifier}'`;
}

/** Groups the catalog rows into tables and marks the columns a mask rule covers by name. */
export function describeCatalog(
  connection: string,
  result: StatementResult | undefined,
  masks: readonly MaskRequirement[],
): ToolOutput<"describe_connection"> {
  const patterns = masks.flatMap((mask) =>
    mask.columns.map((text) => ({ mask, pattern: new ColumnPattern(text) })),
  );
  const tables: ToolOutput<"describe_connection">["tables"] = [];
  let table: (typeof tables)[number] | undefined;
  for (const row of result?.rows ?? []) {
    const [schema, name, kind, column, type, notNull] = row;
    if (schema == null || name == null || column == null) continue;
    if (table === undefined || table.schema !== schema || table.name !== name) {
      table = { schema, name, type: RELATION_KINDS[kind ?? ""] ?? "relation", columns: [] };
      tables.push(table);
    }
    const source = { schema, table: name, column };
    const rules: string[] = [];
    let strategy: MaskStrategy | undefined;
    for (const { mask, pattern } of patterns) {
      if (!pattern.matches(source)) continue;
      if (!rules.includes(mask.ruleId)) rules.push(mask.ruleId);
      strategy = strategy === undefined ? mask.strategy : strongest(strategy, mask.strategy);
    }
    table.columns.push({
      name: column,
      type: type ?? "unknown",
      nullable: notNull !== "t",
      masked: strategy !== undefined,
      ...(strategy === undefined ? {} : { mask_rules: rules, mask_strategy: strategy }),
    });
  }
  const detectors = [...new Set(masks.flatMap((m) => m.detectors))];
  const truncated = result?.truncated ?? false;
  return {
    connection,
    tables,
    detectors,
    truncated,
    ...(truncated
      ? {
          note: `only the first ${result?.rows.length ?? 0} of ${result?.row_count ?? 0} columns are listed; pass schema or table to narrow it`,
        }
      : {}),
  };
}
