/**
 * Data lineage of one SQL statement, from its parse tree: for every output column, which table
 * columns (or whole rows) its values are computed from. Masking uses it for columns RowDescription
 * cannot trace to a table column (expressions, RETURNING, COPY (query), FETCH) and to spot
 * sensitive columns used in filters or copied into other tables.
 *
 * The analysis over-approximates on purpose: an unqualified column is attributed to every
 * relation in scope, a subquery contributes everything it selects, and a name that is also a
 * relation alias counts as a whole-row reference too. Masking too much is a nuisance; too little
 * is a leak.
 */

import { parseSync } from "libpg-query";
import { inner, isObj, nameList, type Obj, rawStatements, str, wrappedType } from "../sql/parse-tree.ts";

/** A relation as written: `customers` or `sales.customers`. */
export interface RelationName {
  readonly schema?: string;
  readonly name: string;
}

/** A relation's data: one column, or the whole row. */
export type RelationRef =
  | { readonly kind: "column"; readonly relation: RelationName; readonly column: string }
  | { readonly kind: "row"; readonly relation: RelationName };

/**
 * Data a value is computed from. A `function` is a call whose body the gateway cannot see: when it
 * is not a built-in, whatever it returns could come from any table.
 */
export type DataRef = RelationRef | { readonly kind: "function"; readonly name: string };

/** What a `*` or `alias.*` target expands to, in order. */
export type StarSource =
  | { readonly kind: "relation"; readonly relation: RelationName }
  | {
      readonly kind: "derived";
      readonly outputs: readonly Output[] | undefined;
      readonly refs: readonly DataRef[];
    };

export interface Output {
  readonly name: string;
  readonly refs: readonly DataRef[];
  /** Set for `*` targets: they expand to several columns. */
  readonly star?: readonly StarSource[];
}

export type CopyFormat = "text" | "csv" | "binary";

export interface StatementLineage {
  /** Output columns in order, when the statement returns rows the analysis can describe. */
  readonly outputs?: readonly Output[];
  /** Everything any output is computed from (for results that cannot be aligned to outputs). */
  readonly refs: readonly DataRef[];
  /** Data used in WHERE, JOIN, GROUP BY, HAVING, ORDER BY, window and CASE conditions. */
  readonly predicateRefs: readonly DataRef[];
  /** Data written into tables or sent through side channels (INSERT ... SELECT, CTAS, pg_notify). */
  readonly writeRefs: readonly DataRef[];
  /** COPY ... TO STDOUT: its data format. */
  readonly copyOut?: CopyFormat;
  /** DECLARE name CURSOR: the cursor's name (its rows are this statement's outputs). */
  readonly declaresCursor?: string;
  /** FETCH from a cursor: its name (outputs come from the DECLARE). */
  readonly fetchesCursor?: string;
  /** PREPARE name AS query: the name (outputs are the query's). */
  readonly preparesStatement?: string;
  /** EXECUTE name: outputs come from the PREPARE. */
  readonly executesStatement?: string;
  /** CLOSE name / CLOSE ALL (null). */
  readonly closesCursor?: string | null;
}

/** Functions whose arguments leave the statement through a side channel. */
const SIDE_CHANNEL_FUNCTIONS: ReadonlySet<string> = new Set([
  "pg_notify",
  "set_config",
  "pg_logical_emit_message",
  "lo_from_bytea",
  "lo_put",
  "dblink",
  "dblink_exec",
  "dblink_send_query",
  "pg_file_write",
]);

type ScopeItem =
  | { readonly kind: "relation"; readonly alias: string; readonly relation: RelationName }
  | {
      readonly kind: "derived";
      readonly alias: string;
      readonly outputs: readonly Output[] | undefined;
      readonly refs: readonly DataRef[];
    };

interface Scope {
  readonly items: readonly ScopeItem[];
  readonly outer: Scope | undefined;
  readonly ctes: ReadonlyMap<string, { outputs: readonly Output[]; refs: readonly DataRef[] }>;
}

const EMPTY_SCOPE: Scope = { items: [], outer: undefined, ctes: new Map() };

/** Bounds the work on hostile input (deeply nested subqueries). */
const MAX_DEPTH = 64;

class Collector {
  readonly predicate: DataRef[] = [];
  readonly writes: DataRef[] = [];
  depth = 0;
}

function relationOf(rangeVar: Obj): RelationName {
  const name = str(rangeVar.relname) ?? "";
  const schema = str(rangeVar.schemaname);
  return schema === undefined ? { name } : { schema, name };
}

function aliasOf(node: Obj): string | undefined {
  const alias = node.alias;
  return isObj(alias) ? str(alias.aliasname) : undefined;
}

function dedupe(refs: readonly DataRef[]): DataRef[] {
  const seen = new Set<string>();
  const out: DataRef[] = [];
  for (const r of refs) {
    const key =
      r.kind === "function"
        ? `f\0${r.name}`
        : `${r.kind}\0${r.relation.schema ?? ""}\0${r.relation.name}\0${r.kind === "column" ? r.column : ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

function outputsRefs(outputs: readonly Output[]): DataRef[] {
  return dedupe(outputs.flatMap((o) => o.refs));
}

/** The whole-row data of a scope item. */
function rowRefs(item: ScopeItem): DataRef[] {
  return item.kind === "relation" ? [{ kind: "row", relation: item.relation }] : [...item.refs];
}

function columnRefs(item: ScopeItem, column: string): DataRef[] {
  if (item.kind === "relation") return [{ kind: "column", relation: item.relation, column }];
  const named = item.outputs?.filter((o) => o.name === column && o.star === undefined);
  if (named !== undefined && named.length > 0 && item.outputs?.every((o) => o.star === undefined)) {
    return named.flatMap((o) => o.refs);
  }
  return [...item.refs];
}

function lookupItem(scope: Scope | undefined, alias: string): ScopeItem | undefined {
  for (let s = scope; s !== undefined; s = s.outer) {
    const found = s.items.find((i) => i.alias === alias);
    if (found) return found;
  }
  return undefined;
}

function allItems(scope: Scope | undefined): ScopeItem[] {
  const out: ScopeItem[] = [];
  for (let s = scope; s !== undefined; s = s.outer) out.push(...s.items);
  return out;
}

function resolveColumnRef(fields: unknown, scope: Scope): DataRef[] {
  if (!Array.isArray(fields)) return [];
  const names: (string | null)[] = fields.map((f) =>
    inner(f, "A_Star") ? null : (str(inner(f, "String")?.sval) ?? ""),
  );
  const last = names[names.length - 1];
  if (names.length === 1) {
    if (last === null || last === undefined) return allItems(scope).flatMap(rowRefs);
    const refs = allItems(scope).flatMap((item) => columnRefs(item, last));
    // `SELECT c FROM customers c` is the whole row of c.
    const asRow = lookupItem(scope, last);
    if (asRow) refs.push(...rowRefs(asRow));
    return refs;
  }
  const qualifier = names[names.length - 2];
  const schema = names.length >= 3 ? names[names.length - 3] : undefined;
  if (qualifier === null || qualifier === undefined) return [];
  const item = schema == null ? lookupItem(scope, qualifier) : undefined;
  const relation: ScopeItem = item ?? {
    kind: "relation",
    alias: qualifier,
    relation: schema == null ? { name: qualifier } : { schema, name: qualifier },
  };
  return last === null || last === undefined ? rowRefs(relation) : columnRefs(relation, last);
}

/** Every data reference inside an expression (function arguments, CASE branches, subqueries...). */
function exprRefs(node: unknown, scope: Scope, c: Collector): DataRef[] {
  const out: DataRef[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x);
      return;
    }
    if (!isObj(v)) return;
    const type = wrappedType(v);
    if (type === "ColumnRef") {
      out.push(...resolveColumnRef(inner(v, "ColumnRef")?.fields, scope));
      return;
    }
    if (type === "SubLink") {
      const link = inner(v, "SubLink")!;
      const sub = analyseQuery(link.subselect, scope, c);
      out.push(...sub.refs);
      if (link.testexpr !== undefined) visit(link.testexpr);
      return;
    }
    if (type === "CaseWhen") {
      const when = inner(v, "CaseWhen")!;
      c.predicate.push(...exprRefs(when.expr, scope, c));
      visit(when.result);
      return;
    }
    if (type === "FuncCall") {
      const call = inner(v, "FuncCall")!;
      const name = nameList(call.funcname).pop()?.toLowerCase() ?? "";
      const args = exprRefs(call.args, scope, c);
      if (SIDE_CHANNEL_FUNCTIONS.has(name)) c.writes.push(...args);
      out.push(...args, { kind: "function", name });
      if (call.agg_filter !== undefined) c.predicate.push(...exprRefs(call.agg_filter, scope, c));
      if (call.agg_order !== undefined) c.predicate.push(...exprRefs(call.agg_order, scope, c));
      if (call.over !== undefined) c.predicate.push(...exprRefs(call.over, scope, c));
      return;
    }
    for (const k in v) visit(v[k]);
  };
  if (++c.depth > MAX_DEPTH) throw new Error("statement nested too deeply for lineage analysis");
  try {
    visit(node);
  } finally {
    c.depth--;
  }
  return out;
}

/** FROM-clause items into scope items; join conditions are predicates. */
function fromItems(list: unknown, scope: Scope, c: Collector): ScopeItem[] {
  const items: ScopeItem[] = [];
  const add = (node: unknown): void => {
    if (!isObj(node)) return;
    const rv = inner(node, "RangeVar");
    if (rv) {
      const name = str(rv.relname) ?? "";
      const cte = str(rv.schemaname) === undefined ? lookupCte(scope, name) : undefined;
      const alias = aliasOf(rv) ?? name;
      if (cte) items.push({ kind: "derived", alias, outputs: cte.outputs, refs: cte.refs });
      else items.push({ kind: "relation", alias, relation: relationOf(rv) });
      return;
    }
    const sub = inner(node, "RangeSubselect");
    if (sub) {
      const q = analyseQuery(sub.subquery, sub.lateral === true ? { ...scope, items } : scope, c);
      items.push({
        kind: "derived",
        alias: aliasOf(sub) ?? "",
        outputs: renamed(q.outputs, sub.alias),
        refs: q.refs,
      });
      return;
    }
    const fn = inner(node, "RangeFunction");
    if (fn) {
      const refs = dedupe(exprRefs(fn.functions, { ...scope, items }, c));
      items.push({ kind: "derived", alias: aliasOf(fn) ?? "", outputs: undefined, refs });
      return;
    }
    const join = inner(node, "JoinExpr");
    if (join) {
      add(join.larg);
      add(join.rarg);
      const joinScope: Scope = { ...scope, items: [...items] };
      if (join.quals !== undefined) c.predicate.push(...exprRefs(join.quals, joinScope, c));
      for (const name of nameList(join.usingClause)) {
        c.predicate.push(...resolveColumnRef([{ String: { sval: name } }], joinScope));
      }
      return;
    }
    // Anything else (RangeTableSample, XMLTABLE, JSON_TABLE...): its data flows from what it reads.
    items.push({
      kind: "derived",
      alias: "",
      outputs: undefined,
      refs: dedupe(exprRefs(node, { ...scope, items }, c)),
    });
  };
  if (Array.isArray(list)) for (const node of list) add(node);
  return items;
}

function renamed(outputs: readonly Output[] | undefined, alias: unknown): readonly Output[] | undefined {
  const names = isObj(alias) ? nameList(alias.colnames) : [];
  if (outputs === undefined || names.length === 0) return outputs;
  return outputs.map((o, i) => (names[i] === undefined ? o : { ...o, name: names[i]! }));
}

function lookupCte(scope: Scope | undefined, name: string) {
  for (let s = scope; s !== undefined; s = s.outer) {
    const cte = s.ctes.get(name);
    if (cte) return cte;
  }
  return undefined;
}

function withCtes(withClause: unknown, scope: Scope, c: Collector): Scope {
  if (!isObj(withClause) || !Array.isArray(withClause.ctes)) return scope;
  const ctes = new Map(scope.ctes);
  let current: Scope = { ...scope, ctes };
  for (const node of withClause.ctes) {
    const cte = inner(node, "CommonTableExpr");
    if (!cte) continue;
    const name = str(cte.ctename) ?? "";
    // A recursive CTE may read itself: seed it with nothing, analyse, then record.
    const q = analyseStatementBody(cte.ctequery, current, c);
    const outputs = renamed(q.outputs, { colnames: cte.aliascolnames }) ?? [];
    ctes.set(name, { outputs, refs: q.refs });
    current = { ...current, ctes };
  }
  return current;
}

function targetName(target: Obj): string {
  const name = str(target.name);
  if (name !== undefined) return name;
  const val = target.val;
  const ref = inner(val, "ColumnRef");
  if (ref && Array.isArray(ref.fields)) {
    const last = ref.fields[ref.fields.length - 1];
    return str(inner(last, "String")?.sval) ?? "?column?";
  }
  const call = inner(val, "FuncCall");
  if (call) return nameList(call.funcname).pop() ?? "?column?";
  return "?column?";
}

function targetOutputs(targetList: unknown, scope: Scope, c: Collector): Output[] {
  const outputs: Output[] = [];
  if (!Array.isArray(targetList)) return outputs;
  for (const entry of targetList) {
    const target = inner(entry, "ResTarget");
    if (!target) continue;
    const ref = inner(target.val, "ColumnRef");
    const fields = ref && Array.isArray(ref.fields) ? ref.fields : undefined;
    if (fields !== undefined && inner(fields[fields.length - 1], "A_Star")) {
      const qualifier =
        fields.length >= 2 ? str(inner(fields[fields.length - 2], "String")?.sval) : undefined;
      const items =
        qualifier === undefined
          ? [...scope.items]
          : [lookupItem(scope, qualifier)].filter((i) => i !== undefined);
      const star: StarSource[] = items.map((i) =>
        i.kind === "relation"
          ? { kind: "relation", relation: i.relation }
          : { kind: "derived", outputs: i.outputs, refs: i.refs },
      );
      outputs.push({ name: "*", refs: dedupe(items.flatMap(rowRefs)), star });
      continue;
    }
    outputs.push({ name: targetName(target), refs: dedupe(exprRefs(target.val, scope, c)) });
  }
  return outputs;
}

interface QueryLineage {
  readonly outputs: readonly Output[] | undefined;
  readonly refs: readonly DataRef[];
}

/** A SELECT (or VALUES, or set operation) in a scope; predicates and writes go to the collector. */
function analyseQuery(node: unknown, outer: Scope, c: Collector): QueryLineage {
  const select =
    inner(node, "SelectStmt") ?? (isObj(node) && wrappedType(node) === undefined ? node : undefined);
  if (!select) return analyseStatementBody(node, outer, c);
  if (++c.depth > MAX_DEPTH) throw new Error("statement nested too deeply for lineage analysis");
  try {
    const base = withCtes(select.withClause, { items: [], outer, ctes: outer.ctes }, c);
    const op = str(select.op);
    if (op !== undefined && op !== "SETOP_NONE") {
      const left = analyseQuery(select.larg, base, c);
      const right = analyseQuery(select.rarg, base, c);
      const outputs = left.outputs?.map((o, i) => ({
        name: o.name,
        refs: dedupe([...o.refs, ...(right.outputs?.[i]?.refs ?? right.refs)]),
      }));
      sortRefs(select.sortClause, base, outputs, c);
      return { outputs, refs: dedupe([...left.refs, ...right.refs]) };
    }
    if (Array.isArray(select.valuesLists)) {
      const rows = select.valuesLists.map((l) =>
        Array.isArray(inner(l, "List")?.items) ? (inner(l, "List")!.items as unknown[]) : [],
      );
      const width = rows[0]?.length ?? 0;
      const outputs: Output[] = [];
      for (let i = 0; i < width; i++) {
        outputs.push({ name: `column${i + 1}`, refs: dedupe(rows.flatMap((r) => exprRefs(r[i], base, c))) });
      }
      return { outputs, refs: outputsRefs(outputs) };
    }
    const scope: Scope = { ...base, items: fromItems(select.fromClause, base, c) };
    const outputs = targetOutputs(select.targetList, scope, c);
    if (select.intoClause !== undefined) c.writes.push(...outputsRefs(outputs));
    for (const clause of [select.whereClause, select.havingClause, select.windowClause]) {
      if (clause !== undefined) c.predicate.push(...exprRefs(clause, scope, c));
    }
    groupRefs(select.groupClause, scope, outputs, c);
    groupRefs(select.distinctClause, scope, outputs, c);
    sortRefs(select.sortClause, scope, outputs, c);
    return { outputs, refs: outputsRefs(outputs) };
  } finally {
    c.depth--;
  }
}

/** ORDER BY / GROUP BY items; `1` and output names refer to outputs. */
function groupRefs(list: unknown, scope: Scope, outputs: readonly Output[] | undefined, c: Collector): void {
  if (!Array.isArray(list)) return;
  for (const item of list) {
    const node = inner(item, "SortBy")?.node ?? item;
    const constant = inner(node, "A_Const")?.ival;
    const index = isObj(constant) && typeof constant.ival === "number" ? constant.ival : undefined;
    if (index !== undefined && outputs?.[index - 1]) {
      c.predicate.push(...outputs[index - 1]!.refs);
      continue;
    }
    const ref = inner(node, "ColumnRef");
    if (ref && Array.isArray(ref.fields) && ref.fields.length === 1) {
      const name = str(inner(ref.fields[0], "String")?.sval);
      for (const o of outputs ?? []) if (o.name === name) c.predicate.push(...o.refs);
    }
    c.predicate.push(...exprRefs(node, scope, c));
  }
}

const sortRefs = groupRefs;

/** Statements that are not a plain SELECT: DML with RETURNING, COPY, cursors, EXPLAIN, CTAS... */
function analyseStatementBody(
  node: unknown,
  outer: Scope,
  c: Collector,
): QueryLineage & { extra?: Partial<StatementLineage> } {
  if (!isObj(node)) return { outputs: undefined, refs: [] };
  const type = wrappedType(node);
  if (type === "SelectStmt") return analyseQuery(node, outer, c);
  const body = type === undefined ? undefined : inner(node, type);
  if (!body) return { outputs: undefined, refs: [] };
  switch (type) {
    case "InsertStmt":
    case "UpdateStmt":
    case "DeleteStmt":
    case "MergeStmt":
      return dml(type, body, outer, c);
    case "CopyStmt":
      return copy(body, outer, c);
    case "DeclareCursorStmt": {
      const q = analyseQuery(body.query, outer, c);
      return { ...q, extra: { declaresCursor: str(body.portalname) ?? "" } };
    }
    case "FetchStmt":
      return {
        outputs: undefined,
        refs: [],
        extra: body.ismove === true ? {} : { fetchesCursor: str(body.portalname) ?? "" },
      };
    case "ClosePortalStmt":
      return { outputs: undefined, refs: [], extra: { closesCursor: str(body.portalname) ?? null } };
    case "CreateTableAsStmt": {
      const q = analyseStatementBody(body.query, outer, c);
      c.writes.push(...q.refs);
      return { outputs: undefined, refs: [] };
    }
    case "ExplainStmt": {
      // The plan text holds no row data; the query's own predicates still count.
      analyseStatementBody(body.query, outer, c);
      return { outputs: undefined, refs: [] };
    }
    case "PrepareStmt": {
      const q = analyseStatementBody(body.query, outer, c);
      return { ...q, extra: { preparesStatement: str(body.name) ?? "" } };
    }
    case "ExecuteStmt":
      return { outputs: undefined, refs: [], extra: { executesStatement: str(body.name) ?? "" } };
    case "DeallocateStmt":
      return { outputs: undefined, refs: [] };
    case "CreateFunctionStmt":
    case "DoStmt":
      return { outputs: undefined, refs: [] };
    default: {
      // Other utility statements (VIEW definitions, rules...) may carry queries: their data flows.
      const refs = dedupe(exprRefs(body, outer, c));
      if (refs.length > 0) c.writes.push(...refs);
      return { outputs: undefined, refs: [] };
    }
  }
}

function dml(type: string, body: Obj, outer: Scope, c: Collector): QueryLineage {
  const base = withCtes(body.withClause, { items: [], outer, ctes: outer.ctes }, c);
  const target = isObj(body.relation) ? body.relation : undefined;
  const targetItem: ScopeItem[] = target
    ? [
        {
          kind: "relation",
          alias: aliasOf(target) ?? str(target.relname) ?? "",
          relation: relationOf(target),
        },
      ]
    : [];
  const extra =
    type === "UpdateStmt" ? body.fromClause : type === "DeleteStmt" ? body.usingClause : undefined;
  const scope: Scope = { ...base, items: [...targetItem, ...fromItems(extra, base, c)] };
  if (type === "MergeStmt") {
    const source = fromItems([body.sourceRelation], base, c);
    const mergeScope: Scope = { ...base, items: [...targetItem, ...source] };
    c.predicate.push(...exprRefs(body.joinCondition, mergeScope, c));
    c.writes.push(...exprRefs(body.mergeWhenClauses, mergeScope, c));
  }
  if (type === "InsertStmt" && body.selectStmt !== undefined) {
    c.writes.push(...analyseQuery(body.selectStmt, base, c).refs);
  }
  if (type === "UpdateStmt") c.writes.push(...exprRefs(body.targetList, scope, c));
  if (body.whereClause !== undefined) c.predicate.push(...exprRefs(body.whereClause, scope, c));
  const returning = isObj(body.returningClause) ? body.returningClause.exprs : body.returningList;
  if (!Array.isArray(returning) || returning.length === 0) return { outputs: undefined, refs: [] };
  const outputs = targetOutputs(returning, scope, c);
  return { outputs, refs: outputsRefs(outputs) };
}

function copy(body: Obj, outer: Scope, c: Collector): QueryLineage & { extra?: Partial<StatementLineage> } {
  if (body.is_from === true) return { outputs: undefined, refs: [] };
  const format = copyFormat(body.options);
  if (body.query !== undefined) {
    const q = analyseStatementBody(body.query, outer, c);
    return { ...q, extra: { copyOut: format } };
  }
  const rv = isObj(body.relation) ? body.relation : undefined;
  if (!rv) return { outputs: undefined, refs: [] };
  const relation = relationOf(rv);
  const columns = nameList(body.attlist);
  const outputs: Output[] =
    columns.length > 0
      ? columns.map((column) => ({ name: column, refs: [{ kind: "column", relation, column }] }))
      : [{ name: "*", refs: [{ kind: "row", relation }], star: [{ kind: "relation", relation }] }];
  return { outputs, refs: outputsRefs(outputs), extra: { copyOut: format } };
}

function copyFormat(options: unknown): CopyFormat {
  if (!Array.isArray(options)) return "text";
  for (const option of options) {
    const def = inner(option, "DefElem");
    if (!def) continue;
    const name = str(def.defname);
    const value = str(inner(def.arg, "String")?.sval)?.toLowerCase();
    if (name === "format" && (value === "csv" || value === "binary" || value === "text")) return value;
    if (name === "format") return "binary"; // unknown: treated as the least readable
  }
  return "text";
}

/** The lineage of every statement in `sql` (which must parse: the analyser has already checked). */
export function sqlLineage(sql: string): StatementLineage[] {
  return rawStatements(parseSync(sql)).map((s) => statementLineage(s.stmt));
}

/** The lineage of one parsed statement (`{ SelectStmt: ... }` etc.). Throws on absurd nesting. */
export function statementLineage(stmt: Obj): StatementLineage {
  const c = new Collector();
  const result = analyseStatementBody(stmt, EMPTY_SCOPE, c);
  const lineage: { -readonly [K in keyof StatementLineage]: StatementLineage[K] } = {
    refs: dedupe(result.refs),
    predicateRefs: dedupe(c.predicate),
    writeRefs: dedupe(c.writes),
    ...result.extra,
  };
  if (result.outputs !== undefined) lineage.outputs = result.outputs;
  return lineage;
}
