/**
 * Walks a PL/pgSQL parse tree (DO blocks, function bodies) and reports the SQL it embeds: plain
 * statements, expressions (evaluated by the server as `SELECT <expr>`), and strings executed as
 * SQL. The caller analyses each piece with the SQL parser.
 */

import { isObj } from "./parse-tree.ts";

export interface PlpgsqlSink {
  /** Embedded SQL statement text (INSERT ..., PERFORM's SELECT, FOR ... IN SELECT ...). */
  statement(sql: string): void;
  /** An expression, to be read as `SELECT <expr>`. */
  expression(expr: string): void;
  /** An expression whose value is executed as SQL (EXECUTE, OPEN/FOR/RETURN QUERY ... EXECUTE). */
  dynamicSql(expr: string): void;
  kind(kind: string): void;
  /** Something the walker could not follow. */
  opaque(): void;
}

// PostgreSQL's RawParseMode values used by PL/pgSQL expressions.
const PARSE_DEFAULT = 0;
const PARSE_TYPE_NAME = 1;
const PARSE_EXPR = 2;
const PARSE_ASSIGN_FIRST = 3;
const PARSE_ASSIGN_LAST = 5;

const DYNAMIC_STATEMENTS: ReadonlySet<string> = new Set(["PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"]);
const TRANSACTION_STATEMENTS: ReadonlySet<string> = new Set(["PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback"]);

export function walkPlpgsql(tree: unknown, sink: PlpgsqlSink): void {
  visit(tree, sink);
}

function visit(value: unknown, sink: PlpgsqlSink): void {
  if (Array.isArray(value)) {
    for (const v of value) visit(v, sink);
    return;
  }
  if (!isObj(value)) return;
  for (const key in value) {
    const child = value[key];
    if (key === "PLpgSQL_expr") {
      expression(child, sink);
    } else if (key === "dynquery") {
      dynamic(child, sink);
    } else if (DYNAMIC_STATEMENTS.has(key) && isObj(child)) {
      for (const k in child) {
        if (k === "query") dynamic(child[k], sink);
        else visit(child[k], sink);
      }
    } else {
      if (TRANSACTION_STATEMENTS.has(key)) sink.kind("transaction");
      visit(child, sink);
    }
  }
}

function dynamic(value: unknown, sink: PlpgsqlSink): void {
  const e = isObj(value) ? value.PLpgSQL_expr : undefined;
  if (isObj(e) && typeof e.query === "string") sink.dynamicSql(e.query);
  else sink.opaque();
}

function expression(value: unknown, sink: PlpgsqlSink): void {
  if (!isObj(value) || typeof value.query !== "string") {
    sink.opaque();
    return;
  }
  const query = value.query;
  const mode = typeof value.parseMode === "number" ? value.parseMode : PARSE_DEFAULT;
  if (mode === PARSE_DEFAULT) {
    sink.statement(query);
  } else if (mode === PARSE_EXPR) {
    sink.expression(query);
  } else if (mode >= PARSE_ASSIGN_FIRST && mode <= PARSE_ASSIGN_LAST) {
    const rhs = assignedExpression(query);
    if (rhs === undefined) sink.opaque();
    else sink.expression(rhs);
  } else if (mode !== PARSE_TYPE_NAME) {
    sink.opaque();
  }
}

/** The right-hand side of `target := expr` (or `target = expr`); the target is a variable. */
function assignedExpression(text: string): string | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const close = text.indexOf(c, i + 1);
      if (close < 0) return undefined;
      i = close;
    } else if (c === "[") {
      depth++;
    } else if (c === "]") {
      depth--;
    } else if (depth === 0 && c === ":" && text[i + 1] === "=") {
      return text.slice(i + 2);
    } else if (depth === 0 && c === "=") {
      return text.slice(i + 1);
    }
  }
  return undefined;
}
