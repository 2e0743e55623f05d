/** A compiled rule: matchers ready for the hot path, plus explanations for the cold one. */
import type { Action, ApprovalRequirement, ConnectionInfo, PrincipalKind } from "../core/index.ts";
import type { CompiledCondition } from "./cel.ts";
import { compileNameList, type NameMatcher } from "./glob.ts";
import type { TimeFacts } from "./time.ts";
import type { MaskRequirement, RuleEffect, RuleMode, RuleSummary } from "./types.ts";

/** Literal text and `{{path}}` placeholders. */
export type ReasonTemplate = readonly (string | readonly string[])[];

export interface ConnectionMatch {
  readonly names?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

export interface CompiledRule {
  readonly index: number;
  readonly id: string;
  readonly mode: RuleMode;
  readonly effect: RuleEffect;
  readonly summary: RuleSummary;
  readonly protocols?: ReadonlySet<string>;
  readonly connection?: ConnectionMatch;
  readonly groups?: readonly string[];
  readonly users?: readonly string[];
  readonly kinds?: ReadonlySet<PrincipalKind>;
  readonly matchConnection?: (connection: ConnectionInfo) => boolean;
  readonly matchGroups?: NameMatcher;
  readonly matchUser?: NameMatcher;
  readonly when?: CompiledCondition;
  readonly approval?: ApprovalRequirement;
  readonly mask?: MaskRequirement;
  readonly reason?: ReasonTemplate;
}

export function connectionMatcher(spec: ConnectionMatch): (connection: ConnectionInfo) => boolean {
  const names = spec.names === undefined ? undefined : compileNameList(spec.names);
  const labels = Object.entries(spec.labels ?? {});
  return (connection) => {
    if (names !== undefined && !names(connection.name)) return false;
    for (const [key, value] of labels) {
      if (!Object.hasOwn(connection.labels, key) || connection.labels[key] !== value) return false;
    }
    return true;
  };
}

/** Everything in `match` except the protocol (the bundle's index already filtered on it). */
export function matchesRule(rule: CompiledRule, action: Action): boolean {
  if (rule.kinds !== undefined && !rule.kinds.has(action.principal.kind)) return false;
  if (rule.matchConnection !== undefined && !rule.matchConnection(action.connection)) return false;
  if (rule.matchUser !== undefined && !rule.matchUser(action.principal.user)) return false;
  if (rule.matchGroups !== undefined) {
    const groups = action.principal.groups;
    let member = false;
    for (let i = 0; i < groups.length; i++) {
      if (rule.matchGroups(groups[i] as string)) {
        member = true;
        break;
      }
    }
    if (!member) return false;
  }
  return true;
}

const list = (items: readonly string[]) => `[${items.join(", ")}]`;

/** Why `match` failed (protocol included), or undefined when it matches. */
export function explainMismatch(rule: CompiledRule, action: Action): string | undefined {
  if (rule.protocols !== undefined && !rule.protocols.has(action.protocol)) {
    return `protocol ${action.protocol} is not in ${list([...rule.protocols])}`;
  }
  if (rule.kinds !== undefined && !rule.kinds.has(action.principal.kind)) {
    return `principal kind ${action.principal.kind} is not in ${list([...rule.kinds])}`;
  }
  if (rule.matchConnection !== undefined && !rule.matchConnection(action.connection)) {
    const spec = rule.connection ?? {};
    const name = action.connection.name;
    if (spec.names !== undefined && !compileNameList(spec.names)(name)) {
      return `connection ${name} does not match ${list(spec.names)}`;
    }
    for (const [key, value] of Object.entries(spec.labels ?? {})) {
      const actual = Object.hasOwn(action.connection.labels, key) ? action.connection.labels[key] : undefined;
      if (actual !== value) {
        return actual === undefined
          ? `connection ${name} has no label ${key} (rule requires ${key}=${value})`
          : `connection ${name} has label ${key}=${actual} (rule requires ${key}=${value})`;
      }
    }
  }
  if (rule.matchUser !== undefined && !rule.matchUser(action.principal.user)) {
    return `user ${action.principal.user} does not match ${list(rule.users ?? [])}`;
  }
  if (rule.matchGroups !== undefined && !action.principal.groups.some((g) => rule.matchGroups?.(g))) {
    return `principal is in none of the groups ${list(rule.groups ?? [])}`;
  }
  return undefined;
}

// --- reasons -------------------------------------------------------------------------------------

export const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Splits a reason into literal parts and placeholder paths (validated by the compiler). */
export function parseReason(text: string): {
  template: ReasonTemplate;
  placeholders: { index: number; path: string }[];
} {
  const template: (string | readonly string[])[] = [];
  const placeholders: { index: number; path: string }[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > last) template.push(text.slice(last, m.index));
    const path = m[1] ?? "";
    placeholders.push({ index: m.index, path });
    template.push(path.split("."));
    last = m.index + m[0].length;
  }
  if (last < text.length) template.push(text.slice(last));
  return { template, placeholders };
}

function factRoot(action: Action, root: string, time: () => TimeFacts): unknown {
  switch (root) {
    case "principal": {
      const p = action.principal;
      return { user: p.user, groups: p.groups, kind: p.kind, on_behalf_of: p.onBehalfOf ?? null };
    }
    case "connection":
      return action.connection;
    case "action":
      return { kind: action.kind, protocol: action.protocol };
    case "time":
      return time();
    default:
      return action.facts[root];
  }
}

function render(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return String(value);
  if (Array.isArray(value)) return value.map(render).join(", ");
  return typeof value === "object" ? JSON.stringify(value) : "";
}

/** Fills `{{path}}` placeholders from the action's facts; missing facts render as empty text. */
export function interpolate(template: ReasonTemplate, action: Action, time: () => TimeFacts): string {
  let out = "";
  for (const part of template) {
    if (typeof part === "string") {
      out += part;
      continue;
    }
    let value: unknown = factRoot(action, part[0] ?? "", time);
    for (let i = 1; i < part.length && value !== undefined && value !== null; i++) {
      const key = part[i] as string;
      value =
        typeof value === "object" && Object.hasOwn(value, key)
          ? (value as Record<string, unknown>)[key]
          : undefined;
    }
    out += render(value);
  }
  return out;
}
