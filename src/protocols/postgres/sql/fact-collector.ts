/**
 * Collects facts from one statement's parse tree. The walk is generic (every object and array
 * is visited) so nothing nested is missed: subqueries, CTEs, LATERAL, function arguments, window
 * clauses, rule actions. Statement nodes get specific handling only where a fact needs context
 * (which relation is written, which WHERE belongs to an UPDATE, which names are CTEs).
 *
 * SQL hidden in strings that PostgreSQL will run (DO blocks, SQL and PL/pgSQL function bodies,
 * EXECUTE of constant strings) is parsed too and merged in, to a bounded depth.
 */

import { parsePlPgSQLSync, parseSync } from "libpg-query";
import { constantString, constantTruth } from "./constant-truth.ts";
import { runsSqlFromText } from "./dynamic-functions.ts";
import { inner, isObj, nameList, type Obj, rawStatements, str, wrappedType } from "./parse-tree.ts";
import { walkPlpgsql } from "./plpgsql-walker.ts";
import { isStatementType, ROLE_SETTINGS, statementKind } from "./statement-kinds.ts";
import { sliceByUtf8Ranges } from "./utf8-slices.ts";

/** CTE names visible at a point of the tree (unqualified references to them are not tables). */
type Scope = readonly string[];

const NO_SCOPE: Scope = [];
/** How deep SQL found inside strings (which may itself hold strings) is followed. */
const MAX_NESTING = 6;

/** Parse-tree fields holding the relation a statement writes. */
const WRITE_TARGETS: ReadonlyMap<string, string> = new Map([
  ["InsertStmt", "relation"],
  ["UpdateStmt", "relation"],
  ["DeleteStmt", "relation"],
  ["MergeStmt", "relation"],
  ["CreateStmt", "relation"],
  ["ViewStmt", "view"],
  ["IndexStmt", "relation"],
  ["CreateTrigStmt", "relation"],
  ["RuleStmt", "relation"],
  ["AlterTableStmt", "relation"],
  ["RenameStmt", "relation"],
  ["AlterObjectSchemaStmt", "relation"],
  ["AlterOwnerStmt", "relation"],
  ["RefreshMatViewStmt", "relation"],
  ["CreatePolicyStmt", "table"],
  ["AlterPolicyStmt", "table"],
  ["CreateSeqStmt", "sequence"],
  ["AlterSeqStmt", "sequence"],
]);

const RELATION_DROPS: ReadonlySet<string> = new Set([
  "OBJECT_TABLE",
  "OBJECT_VIEW",
  "OBJECT_MATVIEW",
  "OBJECT_INDEX",
  "OBJECT_SEQUENCE",
  "OBJECT_FOREIGN_TABLE",
]);

const MERGE_ACTIONS: ReadonlyMap<string, string> = new Map([
  ["CMD_UPDATE", "update"],
  ["CMD_DELETE", "delete"],
  ["CMD_INSERT", "insert"],
]);

const PREPARED_STATEMENTS: ReadonlySet<string> = new Set(["PrepareStmt", "ExecuteStmt", "DeallocateStmt"]);

export class FactCollector {
  readonly kinds = new Set<string>();
  readonly tables = new Set<string>();
  readonly writes = new Set<string>();
  readonly unfilteredWrites = new Set<string>();
  readonly functions = new Set<string>();
  readonly columns = new Set<string>();
  readonly settings = new Set<string>();
  dynamic = false;
  literalSensitive = false;
  preparedName: string | null = null;

  /** Relation names and aliases, to spot whole-row references such as `row_to_json(u)`. */
  private readonly rowNames = new Set<string>();
  private readonly bareColumnRefs: string[] = [];
  private depth = 0;

  /** Collects one top-level statement; `source` is its text. Returns its kind. */
  collect(stmt: Obj, source: string): string {
    const type = wrappedType(stmt);
    const node = type === undefined ? undefined : inner(stmt, type);
    if (type === undefined || node === undefined) {
      this.kinds.add("unknown");
      this.dynamic = true;
      return "unknown";
    }
    const kind = isStatementType(type) ? this.statement(type, node, NO_SCOPE, true, source) : "unknown";
    if (kind === "unknown") {
      this.kinds.add("unknown");
      this.dynamic = true;
    }
    this.resolveWholeRowRefs();
    return kind;
  }

  private resolveWholeRowRefs(): void {
    for (const ref of this.bareColumnRefs) if (this.rowNames.has(ref)) this.columns.add("*");
  }

  private walk(value: unknown, scope: Scope): void {
    if (Array.isArray(value)) {
      for (const item of value) this.walk(item, scope);
      return;
    }
    if (!isObj(value)) return;
    const type = wrappedType(value);
    if (type === undefined) {
      this.fields(value, scope);
      return;
    }
    const node = value[type];
    if (isObj(node)) this.node(type, node, scope);
  }

  /** Visits the fields of a node, skipping the ones its handler already took care of. */
  private fields(node: Obj, scope: Scope, skip?: readonly string[]): void {
    for (const key in node) {
      if (skip?.includes(key)) continue;
      const v = node[key];
      if (typeof v !== "object" || v === null) continue;
      if (Array.isArray(v)) {
        for (const item of v) this.walk(item, scope);
        continue;
      }
      const type = wrappedType(v as Obj);
      if (type !== undefined) {
        const n = (v as Obj)[type];
        if (isObj(n)) this.node(type, n, scope);
      } else if ("relname" in v) {
        // A RangeVar in a typed field (relation, table, sequence...).
        this.relation(v as Obj, scope, false, false);
      } else if (key === "setstmt") {
        this.statement("VariableSetStmt", v as Obj, scope, false);
      } else if (key === "base") {
        this.statement("CreateStmt", v as Obj, scope, false);
      } else if (key === "larg" || key === "rarg") {
        this.statement("SelectStmt", v as Obj, scope, false);
      } else {
        this.fields(v as Obj, scope);
      }
    }
  }

  private node(type: string, n: Obj, scope: Scope): void {
    switch (type) {
      case "String":
      case "A_Const":
      case "A_Star":
      case "TypeName":
        return;
      case "RangeVar":
        this.relation(n, scope, false, false);
        return;
      case "ColumnRef":
        this.columnRef(n);
        return;
      case "FuncCall":
        this.funcCall(n, scope);
        return;
      case "A_Indirection":
        // `(u).ssn` names a column outside any ColumnRef.
        if (Array.isArray(n.indirection)) {
          for (const i of n.indirection) {
            const s = inner(i, "String");
            if (s !== undefined) this.columns.add(str(s.sval) ?? "");
            else if (inner(i, "A_Star") !== undefined) this.columns.add("*");
          }
        }
        this.fields(n, scope);
        return;
      case "RangeSubselect":
      case "RangeFunction":
      case "RangeTableFunc":
      case "JoinExpr": {
        const name = isObj(n.alias) ? str(n.alias.aliasname) : undefined;
        if (name !== undefined) this.rowNames.add(name);
        this.fields(n, scope);
        return;
      }
    }
    if (isStatementType(type)) {
      this.statement(type, n, scope, false);
      return;
    }
    this.fields(n, scope);
  }

  private statement(type: string, n: Obj, outerScope: Scope, top: boolean, source?: string): string {
    const kind = statementKind(type, n);
    // A VALUES list feeding an INSERT reads nothing: not reported as a nested select.
    const plainValues = type === "SelectStmt" && !top && n.valuesLists !== undefined;
    if (!plainValues) this.kinds.add(kind);
    if (kind === "unknown") this.dynamic = true;
    if (this.depth === 0 && PREPARED_STATEMENTS.has(type) && this.preparedName === null) {
      this.preparedName = str(n.name) ?? null;
    }

    const skip: string[] = [];
    let scope = outerScope;
    if (isObj(n.withClause)) {
      scope = this.withClause(n.withClause, outerScope);
      skip.push("withClause");
    }
    const targetKey = WRITE_TARGETS.get(type);
    let target: string | undefined;
    if (targetKey !== undefined && isObj(n[targetKey])) {
      // The written relation is always a real table, even when a CTE has the same name.
      target = this.relation(n[targetKey] as Obj, scope, true, true);
      skip.push(targetKey);
    }

    switch (type) {
      case "SelectStmt":
        if (isObj(n.intoClause)) {
          const rel = n.intoClause.rel;
          if (isObj(rel)) this.relation(rel, scope, true, true);
          skip.push("intoClause");
        }
        if (Array.isArray(n.lockingClause) && n.lockingClause.length > 0) {
          // FOR UPDATE OF <alias>: the names are aliases, not tables.
          this.kinds.add("row_lock");
          skip.push("lockingClause");
        }
        break;
      case "InsertStmt": {
        this.targetNames(n.cols);
        const conflict = isObj(n.onConflictClause) ? n.onConflictClause : undefined;
        if (conflict?.action === "ONCONFLICT_UPDATE") {
          this.kinds.add("update");
          this.targetNames(conflict.targetList);
        }
        break;
      }
      case "UpdateStmt":
        this.targetNames(n.targetList);
        this.checkFilter(target, n.whereClause);
        break;
      case "DeleteStmt":
        this.checkFilter(target, n.whereClause);
        break;
      case "MergeStmt":
        if (Array.isArray(n.mergeWhenClauses)) {
          for (const c of n.mergeWhenClauses) {
            const w = inner(c, "MergeWhenClause");
            const action = MERGE_ACTIONS.get(str(w?.commandType) ?? "");
            if (action !== undefined) this.kinds.add(action);
            this.targetNames(w?.targetList);
            if (target !== undefined && w !== undefined) this.checkMergeFilter(target, w, n.joinCondition);
          }
        }
        break;
      case "TruncateStmt":
        if (Array.isArray(n.relations)) {
          for (const r of n.relations) {
            const rv = inner(r, "RangeVar");
            const name = rv === undefined ? undefined : this.relation(rv, scope, true, true);
            if (name !== undefined) this.unfilteredWrites.add(name);
          }
        }
        skip.push("relations");
        break;
      case "DropStmt":
        if (RELATION_DROPS.has(str(n.removeType) ?? "") && Array.isArray(n.objects)) {
          for (const o of n.objects) {
            const parts = nameList(inner(o, "List")?.items);
            if (parts.length === 0) continue;
            const name = parts.join(".");
            this.tables.add(name);
            this.writes.add(name);
          }
        }
        break;
      case "CopyStmt":
        if (isObj(n.relation)) this.relation(n.relation, scope, n.is_from === true, true);
        skip.push("relation");
        // The parse tree omits empty strings, so `COPY t FROM ''` reads like FROM STDIN: the
        // kinds below depend on a literal's value in that case, so COPY is never shared.
        this.literalSensitive = true;
        if (n.is_program === true) this.kinds.add("copy_program");
        else if (n.filename !== undefined) this.kinds.add("copy_file");
        break;
      case "CreateTableAsStmt": {
        const into = isObj(n.into) ? n.into : undefined;
        if (isObj(into?.rel)) this.relation(into.rel, scope, true, true);
        skip.push("into");
        break;
      }
      case "GrantStmt":
        if (n.targtype === "ACL_TARGET_OBJECT" && Array.isArray(n.objects)) {
          for (const o of n.objects) {
            const rv = inner(o, "RangeVar");
            if (rv !== undefined) this.relation(rv, scope, true, true);
          }
          skip.push("objects");
        }
        break;
      case "AlterDefaultPrivilegesStmt":
        if (isObj(n.action)) this.statement("GrantStmt", n.action, scope, false);
        skip.push("action");
        break;
      case "VariableSetStmt":
        this.variableSet(n);
        break;
      case "DiscardStmt":
        if (n.target === "DISCARD_ALL") {
          // DISCARD ALL includes RESET ALL and SET SESSION AUTHORIZATION DEFAULT.
          this.settings.add("all");
          this.settings.add("session_authorization");
          this.kinds.add("set_role");
        }
        break;
      case "CreateTrigStmt":
      case "CreateEventTrigStmt":
        this.functionName(n.funcname, undefined);
        skip.push("funcname");
        break;
      case "CompositeTypeStmt":
        skip.push("typevar");
        break;
      case "CreateFunctionStmt":
        this.createFunction(n, source);
        skip.push("sql_body");
        break;
      case "DoStmt":
        this.doBlock(n);
        skip.push("args");
        break;
      case "ExecuteStmt":
        // Runs a statement prepared earlier: its text is not here.
        this.dynamic = true;
        break;
    }
    this.fields(n, scope, skip);
    return kind;
  }

  /** Walks a WITH list; returns the scope in which the statement body sees the CTE names. */
  private withClause(w: Obj, scope: Scope): Scope {
    const ctes = Array.isArray(w.ctes) ? w.ctes : [];
    const cteNames = ctes.map((c) => str(inner(c, "CommonTableExpr")?.ctename) ?? "");
    const all = scope.concat(cteNames);
    for (let i = 0; i < ctes.length; i++) {
      const cte = inner(ctes[i], "CommonTableExpr");
      if (cte === undefined) {
        this.walk(ctes[i], all);
        continue;
      }
      this.rowNames.add(cteNames[i] ?? "");
      // A non-recursive CTE sees only the CTEs listed before it.
      this.fields(cte, w.recursive === true ? all : scope.concat(cteNames.slice(0, i)));
    }
    return all;
  }

  /** Records a RangeVar; returns its name, or undefined when it refers to a CTE. */
  private relation(rv: Obj, scope: Scope, write: boolean, isTarget: boolean): string | undefined {
    const relname = str(rv.relname) ?? "";
    const schema = str(rv.schemaname);
    const catalog = str(rv.catalogname);
    if (!isTarget && schema === undefined && catalog === undefined && scope.includes(relname))
      return undefined;
    let name = relname;
    if (schema !== undefined) name = `${schema}.${name}`;
    if (catalog !== undefined) name = `${catalog}.${name}`;
    this.tables.add(name);
    if (write) this.writes.add(name);
    this.rowNames.add(relname);
    const alias = isObj(rv.alias) ? str(rv.alias.aliasname) : undefined;
    if (alias !== undefined) this.rowNames.add(alias);
    return name;
  }

  private columnRef(n: Obj): void {
    const fields = Array.isArray(n.fields) ? n.fields : [];
    const last = fields[fields.length - 1];
    if (last === undefined) return;
    if (inner(last, "A_Star") !== undefined) {
      this.columns.add("*");
      return;
    }
    const name = str(inner(last, "String")?.sval);
    if (name === undefined) return;
    this.columns.add(name);
    if (fields.length === 1) this.bareColumnRefs.push(name);
  }

  /** Column names assigned by INSERT (cols), UPDATE SET, ON CONFLICT and MERGE. */
  private targetNames(list: unknown): void {
    if (!Array.isArray(list)) return;
    for (const t of list) {
      const name = str(inner(t, "ResTarget")?.name);
      if (name !== undefined) this.columns.add(name);
    }
  }

  private checkFilter(target: string | undefined, where: unknown): void {
    if (target === undefined) return;
    if (where === undefined || constantTruth(where, this) === "true") {
      this.unfilteredWrites.add(target);
    }
  }

  /**
   * MERGE changes every target row when an unconditional UPDATE or DELETE runs on all matched
   * rows of an always-true join, or on all unmatched rows of an always-false one.
   */
  private checkMergeFilter(target: string, when: Obj, joinCondition: unknown): void {
    if (when.condition !== undefined) return;
    if (when.commandType !== "CMD_UPDATE" && when.commandType !== "CMD_DELETE") return;
    const everyRow =
      when.matchKind === "MERGE_WHEN_MATCHED"
        ? "true"
        : when.matchKind === "MERGE_WHEN_NOT_MATCHED_BY_SOURCE"
          ? "false"
          : undefined;
    if (everyRow !== undefined && constantTruth(joinCondition, this) === everyRow) {
      this.unfilteredWrites.add(target);
    }
  }

  private funcCall(n: Obj, scope: Scope): void {
    this.functionName(n.funcname, n.args);
    this.fields(n, scope, ["funcname"]);
  }

  private functionName(funcname: unknown, args: unknown): void {
    const parts = nameList(funcname);
    const last = parts[parts.length - 1];
    if (last === undefined) return;
    const name = last.toLowerCase();
    const schema = parts.length > 1 ? parts[parts.length - 2]?.toLowerCase() : undefined;
    this.functions.add(name);
    if (runsSqlFromText(name, schema)) {
      this.dynamic = true;
      this.kinds.add("dynamic_sql");
    }
    if (name === "set_config" && (schema === undefined || schema === "pg_catalog")) this.setConfig(args);
  }

  /** set_config('name', value, is_local) is SET in function form. */
  private setConfig(args: unknown): void {
    const first = Array.isArray(args) ? args[0] : undefined;
    const setting = constantString(first, this)?.toLowerCase();
    if (setting === undefined) {
      this.dynamic = true;
      this.kinds.add("set");
      return;
    }
    this.literalSensitive = true;
    this.settings.add(setting);
    this.kinds.add(ROLE_SETTINGS.has(setting) ? "set_role" : "set");
  }

  private variableSet(n: Obj): void {
    const name = str(n.name)?.toLowerCase();
    switch (n.kind) {
      case "VAR_RESET_ALL":
        this.settings.add("all");
        return;
      case "VAR_SET_MULTI":
        if (name === "transaction" || name === "session characteristics") {
          const prefix = name === "transaction" ? "" : "default_";
          if (Array.isArray(n.args)) {
            for (const a of n.args) {
              const d = str(inner(a, "DefElem")?.defname);
              if (d !== undefined) this.settings.add(prefix + d);
            }
          }
        } else if (name === "transaction snapshot") {
          this.settings.add("transaction_snapshot");
        } else if (name !== undefined) {
          this.settings.add(name);
        }
        return;
      default:
        if (name !== undefined) this.settings.add(name);
    }
  }

  private createFunction(n: Obj, source: string | undefined): void {
    // The body is a literal: another body under the same normalized text is another program.
    this.literalSensitive = true;
    let language = "sql";
    let body: string[] = [];
    if (Array.isArray(n.options)) {
      for (const o of n.options) {
        const d = inner(o, "DefElem");
        if (d === undefined) continue;
        if (d.defname === "language") language = (str(inner(d.arg, "String")?.sval) ?? "").toLowerCase();
        else if (d.defname === "as") body = nameList(inner(d.arg, "List")?.items);
      }
    }
    if (n.sql_body !== undefined) {
      this.walk(n.sql_body, NO_SCOPE);
    } else if (language === "sql") {
      if (body[0] !== undefined) this.nestedSql(body[0], false);
    } else if (language === "plpgsql") {
      if (source === undefined) this.dynamic = true;
      else this.plpgsql(source);
    } else {
      // C, internal, untrusted procedural languages: opaque.
      this.dynamic = true;
    }
  }

  private doBlock(n: Obj): void {
    this.dynamic = true;
    this.literalSensitive = true;
    let language = "plpgsql";
    let body: string | undefined;
    if (Array.isArray(n.args)) {
      for (const a of n.args) {
        const d = inner(a, "DefElem");
        if (d === undefined) continue;
        const value = str(inner(d.arg, "String")?.sval);
        if (d.defname === "as") body = value;
        else if (d.defname === "language") language = (value ?? "").toLowerCase();
      }
    }
    if (body === undefined || language !== "plpgsql") return;
    // The PL/pgSQL parser reads function definitions: wrap the block as one.
    let tag = "sluice";
    for (let i = 0; body.includes(`$${tag}`); i++) tag = `sluice${i}`;
    this.plpgsql(
      `CREATE FUNCTION sluice_do_block() RETURNS void LANGUAGE plpgsql AS $${tag}$${body}$${tag}$`,
    );
  }

  private plpgsql(source: string): void {
    if (this.depth >= MAX_NESTING) {
      this.dynamic = true;
      return;
    }
    let tree: unknown;
    try {
      tree = parsePlPgSQLSync(source);
    } catch {
      this.dynamic = true;
      return;
    }
    this.depth++;
    try {
      walkPlpgsql(tree, {
        statement: (sql) => this.nestedSql(sql, false),
        expression: (expr) => this.nestedSql(expr, true),
        dynamicSql: (expr) => this.dynamicSql(expr),
        kind: (kind) => this.kinds.add(kind),
        opaque: () => {
          this.dynamic = true;
        },
      });
    } finally {
      this.depth--;
    }
  }

  /** SQL found inside a string (function body, PL/pgSQL statement or expression). */
  private nestedSql(text: string, asExpression: boolean): void {
    if (this.depth >= MAX_NESTING) {
      this.dynamic = true;
      return;
    }
    let result: unknown;
    try {
      result = parseSync(asExpression ? `SELECT ${text}` : text);
    } catch {
      this.dynamic = true;
      return;
    }
    const stmts = rawStatements(result);
    this.depth++;
    try {
      if (asExpression) {
        // The SELECT wrapper is the server's way of evaluating an expression, not a query.
        for (const { stmt } of stmts) {
          const select = inner(stmt, "SelectStmt");
          if (select !== undefined) this.fields(select, NO_SCOPE);
          else this.walk(stmt, NO_SCOPE);
        }
        return;
      }
      const sources =
        stmts.length === 1
          ? [text]
          : sliceByUtf8Ranges(
              text,
              stmts.map((s) => s.range),
            );
      stmts.forEach(({ stmt }, i) => {
        const type = wrappedType(stmt);
        const node = type === undefined ? undefined : inner(stmt, type);
        if (type === undefined || node === undefined || !isStatementType(type)) {
          this.kinds.add("unknown");
          this.dynamic = true;
          return;
        }
        this.statement(type, node, NO_SCOPE, false, sources[i]);
      });
    } finally {
      this.depth--;
    }
  }

  /** EXECUTE <expr> in PL/pgSQL: opaque, unless the expression is a constant string. */
  private dynamicSql(expr: string): void {
    this.kinds.add("dynamic_sql");
    this.dynamic = true;
    this.literalSensitive = true;
    if (this.depth >= MAX_NESTING) return;
    let result: unknown;
    try {
      result = parseSync(`SELECT ${expr}`);
    } catch {
      return;
    }
    const select = inner(rawStatements(result)[0]?.stmt, "SelectStmt");
    if (select === undefined) return;
    this.depth++;
    try {
      this.fields(select, NO_SCOPE);
      const first = Array.isArray(select.targetList) ? select.targetList[0] : undefined;
      const sql = constantString(inner(first, "ResTarget")?.val, this);
      if (sql !== undefined) this.nestedSql(sql, false);
    } finally {
      this.depth--;
    }
  }
}
