/**
 * Decides whether a WHERE clause is provably always true (or always false) without looking at
 * any table: `true`, `1 = 1`, `'a' = 'a'`, `id = id`, `x OR true`, `NOT false`, `x LIKE '%'`,
 * `x IS NULL OR x IS NOT NULL`, `EXISTS (SELECT 1)`. "Always true" is meant as an attacker
 * would use it: `id = id` only skips NULL ids, which still makes it a mass update.
 *
 * It only ever claims a definite answer it can justify; anything else is "unknown". It sets
 * `literalSensitive` on the given record whenever the answer looked at a literal's value, so
 * callers know the result cannot be shared with texts that differ only in literals.
 */

import { inner, isObj, type Obj, wrappedType } from "./parse-tree.ts";

export type Truth = "true" | "false" | "unknown";

type Constant =
  | { readonly t: "num"; readonly v: number }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "null" };

const MAX_OR_PAIRS = 64;
const MAX_LIKE_WORK = 1_000_000;

function lastName(list: unknown): string | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const s = inner(list[list.length - 1], "String");
  return typeof s?.sval === "string" ? s.sval : "";
}

function fromBool(b: boolean): Truth {
  return b ? "true" : "false";
}

function not(t: Truth): Truth {
  return t === "true" ? "false" : t === "false" ? "true" : "unknown";
}

/** PostgreSQL's boolin: unique prefixes of true/false/yes/no, on/off, 1/0. */
function parseBool(s: string): boolean | undefined {
  const v = s.trim().toLowerCase();
  if (v.length === 0) return undefined;
  if ("true".startsWith(v) || "yes".startsWith(v) || v === "on" || v === "1") return true;
  if ("false".startsWith(v) || "no".startsWith(v) || v === "off" || v === "of" || v === "0") return false;
  return undefined;
}

function parseNumber(s: string): number | undefined {
  const v = s.trim();
  if (v.length === 0) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Where evaluation records that it read a literal's value. */
export interface LiteralTracker {
  literalSensitive: boolean;
}

export function constantTruth(node: unknown, tracker: LiteralTracker): Truth {
  return new TruthEvaluator(tracker).truth(node);
}

/** The value of a constant string expression: a literal, a cast of one, `||` or concat() of them. */
export function constantString(node: unknown, tracker: LiteralTracker): string | undefined {
  return new TruthEvaluator(tracker).text(node, 0);
}

const MAX_FOLD_DEPTH = 64;

class TruthEvaluator {
  constructor(private readonly tracker: LiteralTracker) {}

  text(node: unknown, depth: number): string | undefined {
    if (depth > MAX_FOLD_DEPTH) return undefined;
    const op = inner(node, "A_Expr");
    if (op !== undefined) {
      if (op.kind !== "AEXPR_OP" || lastName(op.name) !== "||") return undefined;
      const l = this.text(op.lexpr, depth + 1);
      const r = l === undefined ? undefined : this.text(op.rexpr, depth + 1);
      return l === undefined || r === undefined ? undefined : l + r;
    }
    const call = inner(node, "FuncCall");
    if (call !== undefined) {
      if (lastName(call.funcname)?.toLowerCase() !== "concat" || !Array.isArray(call.args)) return undefined;
      let out = "";
      for (const a of call.args) {
        const t = this.text(a, depth + 1);
        if (t === undefined) return undefined;
        out += t;
      }
      return out;
    }
    const c = this.constant(node);
    return c?.t === "str" ? c.v : undefined;
  }

  truth(node: unknown): Truth {
    const type = isObj(node) ? wrappedType(node) : undefined;
    if (type === undefined) return "unknown";
    const n = inner(node, type);
    if (n === undefined) return "unknown";
    switch (type) {
      case "A_Const":
      case "TypeCast": {
        const c = this.constant(node);
        if (c === undefined) return "unknown";
        if (c.t === "bool") return fromBool(c.v);
        if (c.t === "str") {
          const b = parseBool(c.v);
          return b === undefined ? "unknown" : fromBool(b);
        }
        return "unknown";
      }
      case "BoolExpr":
        return this.boolExpr(n);
      case "A_Expr":
        return this.aExpr(n);
      case "NullTest":
        return this.nullTest(n);
      case "BooleanTest": {
        const t = this.truth(n.arg);
        if (t === "unknown") return "unknown";
        switch (n.booltesttype) {
          case "IS_TRUE":
          case "IS_NOT_FALSE":
            return t;
          case "IS_FALSE":
          case "IS_NOT_TRUE":
            return not(t);
          case "IS_UNKNOWN":
            return "false";
          case "IS_NOT_UNKNOWN":
            return "true";
          default:
            return "unknown";
        }
      }
      case "SubLink":
        return this.exists(n);
      default:
        return "unknown";
    }
  }

  private boolExpr(n: Obj): Truth {
    const args = Array.isArray(n.args) ? n.args : [];
    switch (n.boolop) {
      case "NOT_EXPR":
        return not(this.truth(args[0]));
      case "AND_EXPR": {
        let all = true;
        for (const a of args) {
          const t = this.truth(a);
          if (t === "false") return "false";
          if (t !== "true") all = false;
        }
        return all ? "true" : "unknown";
      }
      case "OR_EXPR": {
        let all = true;
        for (const a of args) {
          const t = this.truth(a);
          if (t === "true") return "true";
          if (t !== "false") all = false;
        }
        if (all) return "false";
        return this.complementaryPair(args) ? "true" : "unknown";
      }
      default:
        return "unknown";
    }
  }

  /** `p OR NOT p` and `x IS NULL OR x IS NOT NULL` (the first is true for every non-null p). */
  private complementaryPair(args: readonly unknown[]): boolean {
    if (args.length * args.length > MAX_OR_PAIRS * MAX_OR_PAIRS) return false;
    for (let i = 0; i < args.length; i++) {
      for (let j = 0; j < args.length; j++) {
        if (i === j) continue;
        const a = args[i];
        const b = args[j];
        const notB = inner(b, "BoolExpr");
        if (notB?.boolop === "NOT_EXPR" && Array.isArray(notB.args) && this.same(a, notB.args[0]))
          return true;
        const na = inner(a, "NullTest");
        const nb = inner(b, "NullTest");
        if (
          na?.nulltesttype === "IS_NULL" &&
          nb?.nulltesttype === "IS_NOT_NULL" &&
          this.same(na.arg, nb.arg)
        ) {
          return true;
        }
      }
    }
    return false;
  }

  private aExpr(n: Obj): Truth {
    const op = lastName(n.name) ?? "";
    switch (n.kind) {
      case "AEXPR_OP":
        return this.comparison(op, n.lexpr, n.rexpr);
      case "AEXPR_NOT_DISTINCT":
      case "AEXPR_DISTINCT": {
        const distinct = n.kind === "AEXPR_DISTINCT";
        if (this.same(n.lexpr, n.rexpr)) return fromBool(!distinct);
        if (!isConstantShape(n.lexpr) || !isConstantShape(n.rexpr)) return "unknown";
        const a = this.constant(n.lexpr);
        const b = this.constant(n.rexpr);
        if (a === undefined || b === undefined) return "unknown";
        if (a.t === "null" || b.t === "null") return fromBool((a.t === b.t) !== distinct);
        const eq = compare("=", a, b);
        return eq === undefined ? "unknown" : fromBool(eq !== distinct);
      }
      case "AEXPR_IN": {
        const items = inner(n.rexpr, "List")?.items;
        if (!Array.isArray(items)) return "unknown";
        const negated = op === "<>";
        if (isNullConstant(n.lexpr)) return "unknown";
        if (!negated && items.some((item) => this.same(n.lexpr, item))) return "true";
        if (!isConstantShape(n.lexpr) || !items.every(isConstantShape)) return "unknown";
        const a = this.constant(n.lexpr);
        if (a === undefined) return "unknown";
        let any = false;
        for (const item of items) {
          const b = this.constant(item);
          if (b === undefined) return "unknown";
          const eq = compare("=", a, b);
          if (eq === undefined) return "unknown";
          if (eq) any = true;
        }
        return fromBool(any !== negated);
      }
      case "AEXPR_LIKE":
      case "AEXPR_ILIKE":
        return this.like(op, n.lexpr, n.rexpr, n.kind === "AEXPR_ILIKE");
      case "AEXPR_BETWEEN":
      case "AEXPR_NOT_BETWEEN":
      case "AEXPR_BETWEEN_SYM":
      case "AEXPR_NOT_BETWEEN_SYM": {
        const items = inner(n.rexpr, "List")?.items;
        if (!Array.isArray(items) || items.length !== 2 || !isConstantShape(n.lexpr)) return "unknown";
        if (!isConstantShape(items[0]) || !isConstantShape(items[1])) return "unknown";
        const x = this.constant(n.lexpr);
        let lo = this.constant(items[0]);
        let hi = this.constant(items[1]);
        if (x === undefined || lo === undefined || hi === undefined) return "unknown";
        const symmetric = n.kind === "AEXPR_BETWEEN_SYM" || n.kind === "AEXPR_NOT_BETWEEN_SYM";
        if (symmetric && compare(">", lo, hi) === true) [lo, hi] = [hi, lo];
        const ge = compare(">=", x, lo);
        const le = compare("<=", x, hi);
        if (ge === undefined || le === undefined) return "unknown";
        const inside = ge && le;
        const negated = n.kind === "AEXPR_NOT_BETWEEN" || n.kind === "AEXPR_NOT_BETWEEN_SYM";
        return fromBool(inside !== negated);
      }
      default:
        return "unknown";
    }
  }

  private comparison(op: string, l: unknown, r: unknown): Truth {
    const positive = op === "=" || op === ">=" || op === "<=";
    if (!positive && op !== "<>" && op !== "!=" && op !== "<" && op !== ">") return "unknown";
    // Comparing with NULL is never true, not even NULL = NULL.
    if (isNullConstant(l) || isNullConstant(r)) return "unknown";
    if (this.same(l, r)) return fromBool(positive);
    // Literal values are read only when both sides are literals: `id = 5` stays shareable.
    const lc = isConstantShape(l);
    const rc = isConstantShape(r);
    if (lc && rc) {
      const a = this.constant(l);
      const b = this.constant(r);
      const result = a === undefined || b === undefined ? undefined : compare(op, a, b);
      if (result !== undefined) return fromBool(result);
    }
    // Comparing two boolean conditions: `(1 = 1) = true`.
    if (
      (op === "=" || op === "<>" || op === "!=") &&
      (!lc || isBoolConstant(l)) &&
      (!rc || isBoolConstant(r))
    ) {
      const ta = this.truth(l);
      const tb = ta === "unknown" ? "unknown" : this.truth(r);
      if (ta !== "unknown" && tb !== "unknown") return fromBool((ta === tb) === (op === "="));
    }
    return "unknown";
  }

  private like(op: string, l: unknown, r: unknown, ilike: boolean): Truth {
    const negated = op.startsWith("!");
    const pattern = this.constant(r);
    if (pattern?.t !== "str") return "unknown";
    // A pattern of only % matches every non-null value.
    if (pattern.v.length > 0 && /^%+$/.test(pattern.v)) return fromBool(!negated);
    const value = this.constant(l);
    if (value === undefined || value.t === "null" || value.t === "bool") return "unknown";
    const s = String(value.v);
    const m = likeMatch(ilike ? s.toLowerCase() : s, ilike ? pattern.v.toLowerCase() : pattern.v);
    return m === undefined ? "unknown" : fromBool(m !== negated);
  }

  private nullTest(n: Obj): Truth {
    const c = this.constant(n.arg);
    if (c === undefined) return "unknown";
    const isNull = c.t === "null";
    return fromBool(n.nulltesttype === "IS_NULL" ? isNull : !isNull);
  }

  /** EXISTS over a SELECT without FROM: true unless its own WHERE is false. */
  private exists(n: Obj): Truth {
    if (n.subLinkType !== "EXISTS_SUBLINK") return "unknown";
    const s = inner(n.subselect, "SelectStmt");
    if (s === undefined) return "unknown";
    if (
      s.fromClause !== undefined ||
      s.valuesLists !== undefined ||
      s.havingClause !== undefined ||
      s.groupClause !== undefined ||
      s.limitCount !== undefined ||
      s.limitOffset !== undefined ||
      s.withClause !== undefined ||
      s.larg !== undefined ||
      s.rarg !== undefined
    ) {
      return "unknown";
    }
    return s.whereClause === undefined ? "true" : this.truth(s.whereClause);
  }

  /** The value of a literal (possibly cast); undefined when `node` is not a constant. */
  constant(node: unknown): Constant | undefined {
    const cast = inner(node, "TypeCast");
    if (cast !== undefined) {
      const c = this.constant(cast.arg);
      if (c === undefined) return undefined;
      const tn = isObj(cast.typeName) ? cast.typeName : undefined;
      const typeName = tn === undefined ? undefined : lastName(tn.names);
      if (typeName === undefined || tn?.arrayBounds !== undefined) return undefined;
      return castConstant(c, typeName);
    }
    const k = inner(node, "A_Const");
    if (k === undefined) return undefined;
    if (k.isnull === true) return { t: "null" };
    const boolval = inner(k, "boolval");
    if (boolval !== undefined) return { t: "bool", v: boolval.boolval === true };
    // Keywords (TRUE, FALSE, NULL) are part of the normalized text; anything below is a literal.
    this.tracker.literalSensitive = true;
    const ival = inner(k, "ival");
    if (ival !== undefined) return { t: "num", v: typeof ival.ival === "number" ? ival.ival : 0 };
    const fval = inner(k, "fval");
    if (fval !== undefined) {
      const v = typeof fval.fval === "string" ? parseNumber(fval.fval) : undefined;
      return v === undefined ? undefined : { t: "num", v };
    }
    const sval = inner(k, "sval");
    if (sval !== undefined) return { t: "str", v: typeof sval.sval === "string" ? sval.sval : "" };
    return undefined;
  }

  /** Deep equality ignoring positions; comparing two literals counts as reading them. */
  same(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
    if (Array.isArray(a)) {
      if (!Array.isArray(b) || a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (!this.same(a[i], b[i])) return false;
      return true;
    }
    if (Array.isArray(b)) return false;
    const oa = a as Obj;
    const ob = b as Obj;
    if ("A_Const" in oa && "A_Const" in ob) this.tracker.literalSensitive = true;
    let count = 0;
    for (const key in oa) {
      if (isPosition(key)) continue;
      count++;
      if (!(key in ob) || !this.same(oa[key], ob[key])) return false;
    }
    for (const key in ob) if (!isPosition(key)) count--;
    return count === 0;
  }
}

/** A literal, possibly cast: `5`, `'x'::text`, `NULL::int`, `true`. */
function isConstantShape(node: unknown): boolean {
  let n = node;
  for (let i = 0; i < 16; i++) {
    const cast = inner(n, "TypeCast");
    if (cast === undefined) return inner(n, "A_Const") !== undefined;
    n = cast.arg;
  }
  return false;
}

function innermostConstant(node: unknown): Obj | undefined {
  let n = node;
  for (let i = 0; i < 16; i++) {
    const cast = inner(n, "TypeCast");
    if (cast === undefined) return inner(n, "A_Const");
    n = cast.arg;
  }
  return undefined;
}

function isNullConstant(node: unknown): boolean {
  return innermostConstant(node)?.isnull === true;
}

/** TRUE and FALSE are keywords, so looking at them is not reading a literal. */
function isBoolConstant(node: unknown): boolean {
  const k = inner(node, "A_Const");
  return k !== undefined && inner(k, "boolval") !== undefined;
}

function isPosition(key: string): boolean {
  return (
    key === "location" || key.endsWith("_location") || key === "rexpr_list_start" || key === "rexpr_list_end"
  );
}

const NUMERIC_TYPES = new Set([
  "int2",
  "int4",
  "int8",
  "numeric",
  "float4",
  "float8",
  "integer",
  "smallint",
  "bigint",
]);
const TEXT_TYPES = new Set(["text", "varchar", "bpchar", "name", "char"]);

function castConstant(c: Constant, typeName: string): Constant | undefined {
  if (c.t === "null") return c;
  if (typeName === "bool" || typeName === "boolean") {
    if (c.t === "bool") return c;
    if (c.t === "str") {
      const b = parseBool(c.v);
      return b === undefined ? undefined : { t: "bool", v: b };
    }
    if (c.t === "num" && Number.isInteger(c.v)) return { t: "bool", v: c.v !== 0 };
    return undefined;
  }
  if (NUMERIC_TYPES.has(typeName)) {
    if (c.t === "num") return c;
    if (c.t === "str") {
      const v = parseNumber(c.v);
      return v === undefined ? undefined : { t: "num", v };
    }
    return undefined;
  }
  if (TEXT_TYPES.has(typeName)) {
    if (c.t === "str") return c;
    return undefined;
  }
  return undefined;
}

/** Compares two constants the way PostgreSQL would after coercing unknown-typed literals. */
function compare(op: string, a: Constant, b: Constant): boolean | undefined {
  if (a.t === "null" || b.t === "null") return undefined;
  let x: number | string | boolean;
  let y: number | string | boolean;
  if (a.t === "num" || b.t === "num") {
    const nx = a.t === "num" ? a.v : a.t === "str" ? parseNumber(a.v) : undefined;
    const ny = b.t === "num" ? b.v : b.t === "str" ? parseNumber(b.v) : undefined;
    if (nx === undefined || ny === undefined) return undefined;
    x = nx;
    y = ny;
  } else if (a.t === "bool" || b.t === "bool") {
    const bx = a.t === "bool" ? a.v : a.t === "str" ? parseBool(a.v) : undefined;
    const by = b.t === "bool" ? b.v : b.t === "str" ? parseBool(b.v) : undefined;
    if (bx === undefined || by === undefined) return undefined;
    x = bx;
    y = by;
  } else {
    // Two strings: only equality is collation-independent.
    if (op !== "=" && op !== "<>" && op !== "!=") return undefined;
    x = a.v;
    y = b.v;
  }
  switch (op) {
    case "=":
      return x === y;
    case "<>":
    case "!=":
      return x !== y;
    case "<":
      return x < y;
    case ">":
      return x > y;
    case "<=":
      return x <= y;
    case ">=":
      return x >= y;
    default:
      return undefined;
  }
}

/** LIKE with % and _ and backslash escapes; undefined when the inputs are too large to check. */
function likeMatch(s: string, p: string): boolean | undefined {
  if (s.length * (p.length + 1) > MAX_LIKE_WORK) return undefined;
  let si = 0;
  let pi = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < p.length) {
      const pc = p[pi];
      if (pc === "%") {
        starP = pi++;
        starS = si;
        continue;
      }
      if (pc === "\\" && pi + 1 < p.length) {
        if (p[pi + 1] === s[si]) {
          pi += 2;
          si++;
          continue;
        }
      } else if (pc === "_" || pc === s[si]) {
        pi++;
        si++;
        continue;
      }
    }
    if (starP < 0) return false;
    pi = starP + 1;
    si = ++starS;
  }
  while (pi < p.length && p[pi] === "%") pi++;
  return pi === p.length;
}
