/**
 * The CEL side of the policy engine: one typed environment built from the fact schema, the
 * `when` compiler (syntax, field names, banned functions, bool type) and the per-decision
 * activation.
 */
import { type ASTNode, Environment } from "@marcbachmann/cel-js";
import { RE2JS } from "re2js";
import type { Action, ConnectionInfo, Principal } from "../core/index.ts";
import {
  FACT_NAMESPACES,
  FACT_ROOTS,
  type FactNode,
  type FactType,
  factTree,
  resolveFactPath,
} from "./fact-schema.ts";
import type { TimeFacts } from "./time.ts";

type Converter = (value: unknown) => unknown;
type RecordInstance = Record<string, unknown>;

/**
 * A registered CEL message type for one root of the fact tree. Protocol namespaces (`sql`, ...)
 * are built for every action, so their class wraps the analyser's facts object and converts a
 * field only when a condition reads it; the other roots are built once and cached, so their
 * fields are converted up front and stored.
 */
interface RecordType {
  readonly name: string;
  readonly ctor: new (source?: object) => RecordInstance;
  readonly fields: readonly (readonly [string, Converter])[];
}

function typeName(path: string): string {
  return `sluice.${path
    .split(".")
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("")}`;
}

function celType(type: FactType): string {
  switch (type) {
    case "string?":
      return "dyn<string>";
    case "object?":
      return "dyn";
    default:
      return type;
  }
}

function toInt(value: unknown): unknown {
  return typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
}

function toNullable(value: unknown): unknown {
  return value === undefined ? null : value;
}

/** Nullable nested records are plain objects (CEL `dyn`); their field names are checked statically. */
function nullableRecordConverter(node: FactNode): Converter {
  const fields = [...(node.fields ?? new Map<string, FactNode>())].map(
    ([name, child]) => [name, converterFor(child)] as const,
  );
  return (value) => {
    if (value === undefined || value === null || typeof value !== "object") return value ?? null;
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [name, convert] of fields) {
      const v = convert(source[name]);
      if (v !== undefined) out[name] = v;
    }
    return out;
  };
}

function converterFor(node: FactNode): Converter {
  switch (node.type) {
    case "int":
      return toInt;
    case "string?":
      return toNullable;
    case "object?":
      return nullableRecordConverter(node);
    default:
      return (v) => v;
  }
}

const recordTypes = new Map<string, RecordType>();

/** A class whose getters read (and convert) the fields of the wrapped facts object. */
function wrappingClass(
  name: string,
  fields: readonly (readonly [string, Converter])[],
): new (
  source?: object,
) => RecordInstance {
  const ctor = {
    [name]: class {
      readonly $: Readonly<Record<string, unknown>>;
      constructor(source?: object) {
        this.$ = (source ?? {}) as Readonly<Record<string, unknown>>;
      }
    },
  }[name] as unknown as new (
    source?: object,
  ) => RecordInstance;
  for (const [field, convert] of fields) {
    Object.defineProperty(ctor.prototype, field, {
      get(this: { $: Readonly<Record<string, unknown>> }) {
        return Object.hasOwn(this.$, field) ? convert(this.$[field]) : convert(undefined);
      },
    });
  }
  return ctor;
}

function storingClass(name: string): new () => RecordInstance {
  return { [name]: class {} }[name] as unknown as new () => RecordInstance;
}

const NAMESPACES: ReadonlySet<string> = new Set(FACT_NAMESPACES);

function createEnvironment(): Environment {
  const env = new Environment({ homogeneousAggregateLiterals: false });
  for (const root of FACT_ROOTS) {
    const node = factTree.get(root);
    if (node?.fields === undefined) throw new Error(`fact root ${root} has no fields`);
    const name = typeName(root);
    const celFields: Record<string, string> = {};
    const fields: (readonly [string, Converter])[] = [];
    for (const [field, child] of node.fields) {
      celFields[field] = celType(child.type as FactType);
      fields.push([field, converterFor(child)]);
    }
    const ctor = NAMESPACES.has(root) ? wrappingClass(name, fields) : storingClass(name);
    env.registerType({ name, ctor, fields: celFields });
    env.registerVariable(root, name);
    recordTypes.set(root, { name, ctor, fields });
  }
  env.registerFunction(
    "re2(string, string): bool",
    (text: string, pattern: string) => re2(pattern).test(text),
    {
      description: "True when the RE2 pattern matches anywhere in text (linear time).",
    },
  );
  return env;
}

// --- re2() ---------------------------------------------------------------------------------------

const RE2_CACHE_LIMIT = 1024;
const re2Cache = new Map<string, RE2JS>();

/** Compiles (and caches) an RE2 pattern; throws on invalid syntax. */
export function re2(pattern: string): RE2JS {
  let compiled = re2Cache.get(pattern);
  if (compiled === undefined) {
    compiled = RE2JS.compile(pattern);
    if (re2Cache.size >= RE2_CACHE_LIMIT) re2Cache.clear();
    re2Cache.set(pattern, compiled);
  }
  return compiled;
}

// --- environment ---------------------------------------------------------------------------------

let environment: Environment | undefined;

/** The shared environment (building it is expensive; it is immutable once built). */
export function celEnvironment(): Environment {
  environment ??= createEnvironment();
  return environment;
}

function recordType(root: string): RecordType {
  celEnvironment();
  const type = recordTypes.get(root);
  if (type === undefined) throw new Error(`unknown fact root ${root}`);
  return type;
}

function buildRecord(type: RecordType, source: object | undefined): RecordInstance {
  const instance = new type.ctor();
  if (source !== undefined) {
    const fields = source as Readonly<Record<string, unknown>>;
    for (const [name, convert] of type.fields) {
      const value = convert(fields[name]);
      if (value !== undefined) instance[name] = value;
    }
  }
  return instance;
}

// --- when compilation ----------------------------------------------------------------------------

export interface ConditionProblem {
  /** Offset into the expression text. */
  readonly offset: number;
  readonly message: string;
}

export type Activation = Readonly<Record<string, unknown>>;

export interface CompiledCondition {
  readonly source: string;
  /** Fact roots the expression reads (`sql`, `time`, ...). */
  readonly roots: ReadonlySet<string>;
  /**
   * Every fact path the expression reads, as written (`sql.kinds`, `mcp.arguments.sql`); a root
   * used whole (`has(mcp)`, `mcp.arguments[x]` reads `mcp.arguments`) appears as the shorter path.
   */
  readonly paths: ReadonlySet<string>;
  /** True when the expression asks whether a fact is present (`has()`, optional selection). */
  readonly testsPresence: boolean;
  /** Throws on evaluation errors (missing key, type mismatch, bad pattern). */
  readonly evaluate: (activation: Activation) => unknown;
}

const COMPREHENSIONS = new Set(["all", "exists", "exists_one", "map", "filter", "bind"]);

interface WalkState {
  readonly problems: ConditionProblem[];
  readonly roots: Set<string>;
  readonly paths: Set<string>;
  testsPresence: boolean;
}

function fieldOffset(node: ASTNode): number {
  if (node.op === ".") return node.range.end - node.args[1].length;
  if (node.op === "[]") return node.args[1].range.start;
  return node.range.start;
}

/** `a.b["c"].d` → the chain of [name, node] when it is rooted at an identifier. */
function selectChain(
  node: ASTNode,
): { root: ASTNode & { op: "id" }; links: [string, ASTNode][] } | undefined {
  const links: [string, ASTNode][] = [];
  let current: ASTNode = node;
  for (;;) {
    if (current.op === ".") {
      links.push([current.args[1], current]);
      current = current.args[0];
    } else if (
      current.op === "[]" &&
      current.args[1].op === "value" &&
      typeof current.args[1].args === "string"
    ) {
      links.push([current.args[1].args, current]);
      current = current.args[0];
    } else if (current.op === "id") {
      links.reverse();
      return { root: current, links };
    } else {
      return undefined;
    }
  }
}

function suggestion(unknown: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(unknown, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(unknown.length / 3)) ? best : "";
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(
        Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function checkChain(
  state: WalkState,
  chain: { root: ASTNode & { op: "id" }; links: [string, ASTNode][] },
): void {
  const segments = [chain.root.args];
  state.roots.add(chain.root.args);
  state.paths.add([chain.root.args, ...chain.links.map(([name]) => name)].join("."));
  for (const [name, node] of chain.links) {
    segments.push(name);
    const resolved = resolveFactPath(segments);
    if (resolved.ok) {
      if (resolved.node === undefined) return;
      continue;
    }
    const near = suggestion(resolved.unknown, resolved.candidates);
    state.problems.push({
      offset: fieldOffset(node),
      message: `unknown field ${segments.join(".")}${near === "" ? "" : ` (did you mean ${resolved.known}.${near}?)`}`,
    });
    return;
  }
}

function walk(node: ASTNode, scope: ReadonlySet<string>, state: WalkState): void {
  switch (node.op) {
    case "value":
      return;
    case "id":
      if (!scope.has(node.args) && factTree.has(node.args)) {
        state.roots.add(node.args);
        state.paths.add(node.args);
      }
      return;
    case ".":
    case "[]": {
      const chain = selectChain(node);
      if (chain !== undefined && !scope.has(chain.root.args) && factTree.has(chain.root.args)) {
        checkChain(state, chain);
        // Non-literal index expressions inside the chain cannot exist (the chain is all literals).
        return;
      }
      walk(node.args[0], scope, state);
      if (node.op === "[]") walk(node.args[1], scope, state);
      return;
    }
    case ".?":
      state.testsPresence = true;
      walk(node.args[0], scope, state);
      return;
    case "[?]":
      state.testsPresence = true;
      walk(node.args[0], scope, state);
      walk(node.args[1], scope, state);
      return;
    case "call": {
      const [name, args] = node.args;
      if (name === "matches") {
        state.problems.push({
          offset: node.range.start,
          message: "matches() uses a backtracking regex engine and is not allowed; use re2(text, pattern)",
        });
      }
      if (name === "re2") checkPatternLiteral(args[1], state);
      if (name === "has") state.testsPresence = true;
      for (const arg of args) walk(arg, scope, state);
      return;
    }
    case "rcall": {
      const [name, receiver, args] = node.args;
      if (name === "matches") {
        state.problems.push({
          offset: receiver.range.end + 1,
          message: "matches() uses a backtracking regex engine and is not allowed; use re2(text, pattern)",
        });
      }
      walk(receiver, scope, state);
      const first = args[0];
      if (COMPREHENSIONS.has(name) && first?.op === "id" && args.length >= 2) {
        const inner = new Set(scope);
        inner.add(first.args);
        for (const arg of args.slice(1)) walk(arg, inner, state);
        return;
      }
      for (const arg of args) walk(arg, scope, state);
      return;
    }
    case "list":
      for (const item of node.args) walk(item, scope, state);
      return;
    case "map":
      for (const [key, value] of node.args) {
        walk(key, scope, state);
        walk(value, scope, state);
      }
      return;
    case "?:":
      for (const part of node.args) walk(part, scope, state);
      return;
    case "!_":
    case "-_":
      walk(node.args, scope, state);
      return;
    default:
      walk(node.args[0], scope, state);
      walk(node.args[1], scope, state);
  }
}

function checkPatternLiteral(arg: ASTNode | undefined, state: WalkState): void {
  if (arg?.op !== "value" || typeof arg.args !== "string") return;
  try {
    re2(arg.args);
  } catch (error) {
    state.problems.push({
      offset: arg.range.start,
      message: `invalid re2 pattern: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}

function celErrorParts(error: unknown): { offset: number; summary: string } {
  const e = error as { range?: { start: number }; summary?: string; message?: string };
  return { offset: e.range?.start ?? 0, summary: e.summary ?? e.message ?? String(error) };
}

/** Parses, lints and type-checks one `when` expression. */
export function compileCondition(
  source: string,
): { ok: true; condition: CompiledCondition } | { ok: false; problems: ConditionProblem[] } {
  const env = celEnvironment();
  let parsed: ReturnType<Environment["parse"]>;
  try {
    parsed = env.parse(source);
  } catch (error) {
    const { offset, summary } = celErrorParts(error);
    return { ok: false, problems: [{ offset, message: `syntax error: ${summary}` }] };
  }
  const state: WalkState = { problems: [], roots: new Set(), paths: new Set(), testsPresence: false };
  walk(parsed.ast, new Set(), state);
  if (state.problems.length > 0) return { ok: false, problems: state.problems };

  const checked = parsed.check();
  if (!checked.valid) {
    const { offset, summary } = celErrorParts(checked.error);
    return { ok: false, problems: [{ offset, message: `type error: ${summary}` }] };
  }
  if (checked.type !== "bool") {
    return {
      ok: false,
      problems: [{ offset: 0, message: `when must be a bool expression, got ${checked.type ?? "unknown"}` }],
    };
  }
  return {
    ok: true,
    condition: {
      source,
      roots: state.roots,
      paths: state.paths,
      testsPresence: state.testsPresence,
      evaluate: parsed,
    },
  };
}

/** Short message of an evaluation error. */
export function evaluationMessage(error: unknown): string {
  return celErrorParts(error).summary;
}

// --- activation ----------------------------------------------------------------------------------

const principalCache = new WeakMap<Principal, RecordInstance>();
const connectionCache = new WeakMap<ConnectionInfo, RecordInstance>();

function principalRecord(principal: Principal): RecordInstance {
  let record = principalCache.get(principal);
  if (record === undefined) {
    record = buildRecord(recordType("principal"), {
      user: principal.user,
      groups: principal.groups,
      kind: principal.kind,
      on_behalf_of: principal.onBehalfOf ?? null,
    });
    principalCache.set(principal, record);
  }
  return record;
}

function connectionRecord(connection: ConnectionInfo): RecordInstance {
  let record = connectionCache.get(connection);
  if (record === undefined) {
    record = buildRecord(recordType("connection"), connection);
    connectionCache.set(connection, record);
  }
  return record;
}

/** `time` record instances for the activation. */
export function timeRecord(facts: TimeFacts): RecordInstance {
  return buildRecord(recordType("time"), facts);
}

let namespaceTypes: readonly (readonly [string, RecordType, RecordInstance])[] | undefined;

/** [namespace, type, empty record] for every protocol namespace. */
function namespaces(): readonly (readonly [string, RecordType, RecordInstance])[] {
  namespaceTypes ??= FACT_NAMESPACES.map((namespace) => {
    const type = recordType(namespace);
    return [namespace, type, Object.freeze(new type.ctor())] as const;
  });
  return namespaceTypes;
}

/** protocol → kind → record (both come from a small fixed vocabulary). */
const actionRecords = new Map<string, Map<string, RecordInstance>>();

function actionRecord(action: Action): RecordInstance {
  let byKind = actionRecords.get(action.protocol);
  if (byKind === undefined) {
    if (actionRecords.size >= 256) actionRecords.clear();
    byKind = new Map();
    actionRecords.set(action.protocol, byKind);
  }
  let record = byKind.get(action.kind);
  if (record === undefined) {
    record = buildRecord(recordType("action"), { kind: action.kind, protocol: action.protocol });
    if (byKind.size >= 256) byKind.clear();
    byKind.set(action.kind, record);
  }
  return record;
}

/** Builds the CEL variables for one action; `time` is computed only when the bundle reads it. */
export function buildActivation(action: Action, time: () => RecordInstance, usesTime: boolean): Activation {
  const activation: Record<string, unknown> = {
    sql: undefined,
    k8s: undefined,
    ssh: undefined,
    http: undefined,
    mcp: undefined,
    principal: principalRecord(action.principal),
    connection: connectionRecord(action.connection),
    action: actionRecord(action),
    time: usesTime ? time() : emptyTime(),
  };
  for (const [namespace, type, empty] of namespaces()) {
    const facts = action.facts[namespace];
    activation[namespace] = facts === undefined ? empty : new type.ctor(facts);
  }
  return activation;
}

let emptyTimeRecord: RecordInstance | undefined;
function emptyTime(): RecordInstance {
  emptyTimeRecord ??= Object.freeze(buildRecord(recordType("time"), undefined));
  return emptyTimeRecord;
}
