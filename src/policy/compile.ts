/** From policy file texts to a `PolicyBundle`, reporting every problem at once. */
import { createHash } from "node:crypto";
import type { ApprovalRequirement, PrincipalKind } from "../core/index.ts";
import { PolicyBundle } from "./bundle.ts";
import { type CompiledCondition, compileCondition } from "./cel.ts";
import { compareStrings, type PolicyDiagnostic, PolicyError } from "./errors.ts";
import { resolveFactPath } from "./fact-schema.ts";
import { compileNameList, globProblem } from "./glob.ts";
import {
  ConnectionListSchema,
  ConnectionObjectSchema,
  type ParsedRule,
  parseDuration,
  parsePolicyFile,
} from "./policy-file.ts";
import {
  type CompiledRule,
  type ConnectionMatch,
  connectionMatcher,
  parseReason,
  type ReasonTemplate,
} from "./rule.ts";
import { validateTimeZone } from "./time.ts";
import type { MaskRequirement, RuleSummary } from "./types.ts";

export interface PolicyFile {
  /** Path relative to the policy directory, `/`-separated. Part of the bundle hash. */
  readonly path: string;
  readonly text: string;
}

export interface PolicyOptions {
  /** IANA zone for `time.*` facts. Default `UTC`. */
  readonly timeZone?: string;
  /** Source of the current time (tests inject a fixed clock). */
  readonly clock?: () => Date;
}

export interface CompileOptions extends PolicyOptions {
  /** Recorded on the bundle as `gitCommit`. */
  readonly gitCommit?: string;
  /** Prefix for file names in diagnostics and rule locations (not hashed). */
  readonly displayRoot?: string;
}

/** `sha256:<hex>` over every file's path and content, in path order. */
export function bundleHash(files: readonly PolicyFile[]): string {
  const hash = createHash("sha256");
  hash.update("sluice-policy-bundle/v1\n");
  for (const file of [...files].sort((a, b) => compareStrings(a.path, b.path))) {
    hash.update(`${Buffer.byteLength(file.path)}:${file.path}\n${Buffer.byteLength(file.text)}:`);
    hash.update(file.text);
    hash.update("\n");
  }
  return `sha256:${hash.digest("hex")}`;
}

/** Compiles policy files into a bundle; throws `PolicyError` listing every diagnostic. */
export function compilePolicyBundle(
  files: readonly PolicyFile[],
  options: CompileOptions = {},
): PolicyBundle {
  const diagnostics: PolicyDiagnostic[] = [];
  const timeZone = options.timeZone ?? "UTC";
  try {
    validateTimeZone(timeZone);
  } catch {
    diagnostics.push({ file: "(options)", line: 0, column: 0, message: `unknown time zone "${timeZone}"` });
  }

  const display = (path: string) =>
    options.displayRoot === undefined || options.displayRoot === ""
      ? path
      : `${options.displayRoot.replace(/\/+$/, "")}/${path}`;
  const sorted = [...files].sort((a, b) => compareStrings(a.path, b.path));
  const parsed: ParsedRule[] = [];
  let previous: string | undefined;
  for (const file of sorted) {
    if (file.path === previous) {
      diagnostics.push({ file: display(file.path), line: 0, column: 0, message: "duplicate file path" });
      continue;
    }
    previous = file.path;
    const result = parsePolicyFile(display(file.path), file.text);
    diagnostics.push(...result.diagnostics);
    parsed.push(...result.rules);
  }

  const seen = new Map<string, ParsedRule>();
  const rules: CompiledRule[] = [];
  for (const rule of parsed) {
    let duplicate = false;
    if (rule.ruleId !== undefined) {
      const first = seen.get(rule.ruleId);
      if (first === undefined) seen.set(rule.ruleId, rule);
      else {
        duplicate = true;
        diagnostics.push({
          file: rule.file,
          ...rule.locate.at(["id"]),
          ruleId: rule.ruleId,
          message: `duplicate rule id (first defined at ${first.file}:${first.line}:${first.column})`,
        });
      }
    }
    const compiled = compileRule(rule, rules.length, diagnostics);
    if (compiled !== undefined && !duplicate) rules.push(compiled);
  }

  if (diagnostics.length > 0) throw new PolicyError(diagnostics);
  const init = {
    version: bundleHash(files),
    rules,
    timeZone,
    clock: options.clock ?? (() => new Date()),
  };
  return new PolicyBundle(options.gitCommit === undefined ? init : { ...init, gitCommit: options.gitCommit });
}

const asRecord = (value: unknown): Readonly<Record<string, unknown>> | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
const asStrings = (value: unknown): readonly string[] | undefined =>
  Array.isArray(value) && value.every((v) => typeof v === "string") ? value : undefined;

/**
 * Lints one rule (on the raw mapping, so problems are reported even when its shape is invalid)
 * and compiles it when everything is valid.
 */
function compileRule(
  rule: ParsedRule,
  index: number,
  diagnostics: PolicyDiagnostic[],
): CompiledRule | undefined {
  const { raw, file } = rule;
  const before = diagnostics.length;
  const withRule = rule.ruleId === undefined ? {} : { ruleId: rule.ruleId };
  const report = (path: readonly (string | number)[], message: string) =>
    diagnostics.push({ file, ...rule.locate.at(path), ...withRule, message });

  // Effect details: required iff the effect needs them.
  const effect = raw.effect;
  if (effect === "approve" && raw.approval === undefined)
    report(["effect"], "effect approve needs an approval block");
  if (effect !== "approve" && raw.approval !== undefined)
    report(["approval"], "approval is only for effect approve");
  if (effect === "mask" && raw.mask === undefined) report(["effect"], "effect mask needs a mask block");
  if (effect !== "mask" && raw.mask !== undefined) report(["mask"], "mask is only for effect mask");

  const match = asRecord(raw.match) ?? {};
  const checkGlobs = (key: string, patterns: readonly string[] | undefined, base: (string | number)[]) => {
    patterns?.forEach((pattern, i) => {
      const problem = globProblem(pattern);
      if (problem !== undefined) report([...base, i], `${key}: ${problem}`);
    });
  };
  checkGlobs("users", asStrings(match.users), ["match", "users"]);
  checkGlobs("groups", asStrings(match.groups), ["match", "groups"]);

  let connection: ConnectionMatch | undefined;
  if (match.connections !== undefined) {
    const base = ["match", "connections"];
    if (Array.isArray(match.connections)) {
      const result = ConnectionListSchema.safeParse(match.connections);
      if (result.success) {
        connection = { names: result.data };
        checkGlobs("connections", result.data, base);
      } else {
        for (const issue of result.error.issues) {
          report([...base, ...(issue.path as (string | number)[])], `connections: ${issue.message}`);
        }
      }
    } else {
      const result = ConnectionObjectSchema.safeParse(match.connections);
      if (result.success) {
        connection = {
          ...(result.data.names === undefined ? {} : { names: result.data.names }),
          ...(result.data.labels === undefined ? {} : { labels: result.data.labels }),
        };
        checkGlobs("connections", result.data.names, [...base, "names"]);
      } else {
        for (const issue of result.error.issues) {
          const where = issue.path.map(String).join(".");
          if (issue.code === "unrecognized_keys") {
            for (const key of issue.keys) {
              diagnostics.push({
                file,
                ...rule.locate.atKey([...base, key]),
                ...withRule,
                message: `unknown field match.connections.${key}`,
              });
            }
            continue;
          }
          const message =
            issue.code === "invalid_type" && issue.path.length === 0
              ? "connections is a list of names and globs, or {names, labels}"
              : `connections${where === "" ? "" : `.${where}`}: ${issue.message}`;
          report([...base, ...(issue.path as (string | number)[])], message);
        }
      }
    }
  }

  let when: CompiledCondition | undefined;
  if (typeof raw.when === "string" && raw.when !== "") {
    const result = compileCondition(raw.when);
    if (result.ok) when = result.condition;
    else {
      for (const problem of result.problems) {
        diagnostics.push({
          file,
          ...rule.locate.inScalar(["when"], problem.offset),
          ...withRule,
          message: problem.message,
        });
      }
    }
  }

  let reason: ReasonTemplate | undefined;
  if (typeof raw.reason === "string") {
    const parsedReason = parseReason(raw.reason);
    for (const placeholder of parsedReason.placeholders) {
      const resolved = resolveFactPath(placeholder.path.split("."));
      if (!resolved.ok || placeholder.path === "") {
        diagnostics.push({
          file,
          ...rule.locate.inScalar(["reason"], placeholder.index),
          ...withRule,
          message: `unknown field {{${placeholder.path}}} in reason`,
        });
      }
    }
    reason = parsedReason.template;
  }

  const spec = rule.spec;
  if (diagnostics.length > before || spec === undefined) return undefined;
  const specMatch = spec.match ?? {};

  const approval: ApprovalRequirement | undefined =
    spec.approval === undefined
      ? undefined
      : {
          reviewers: spec.approval.reviewers,
          minApprovals: spec.approval.min_approvals,
          ttlSeconds: parseDuration(spec.approval.ttl) ?? 3600,
        };
  const mask: MaskRequirement | undefined =
    spec.mask === undefined
      ? undefined
      : {
          ruleId: spec.id,
          columns: spec.mask.columns ?? [],
          detectors: spec.mask.detectors ?? [],
          strategy: spec.mask.strategy,
          ...(spec.mask.deny_in_filters === true ? { denyInFilters: true } : {}),
        };
  const summary: RuleSummary = {
    id: spec.id,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    file,
    line: rule.line,
    column: rule.column,
    mode: spec.mode,
    effect: spec.effect,
    ...(specMatch.protocols === undefined ? {} : { protocols: specMatch.protocols }),
    ...(spec.when === undefined ? {} : { when: spec.when }),
  };
  return {
    index,
    id: spec.id,
    mode: spec.mode,
    effect: spec.effect,
    summary,
    ...(specMatch.protocols === undefined ? {} : { protocols: new Set(specMatch.protocols) }),
    ...(connection === undefined ? {} : { connection, matchConnection: connectionMatcher(connection) }),
    ...(specMatch.groups === undefined
      ? {}
      : { groups: specMatch.groups, matchGroups: compileNameList(specMatch.groups) }),
    ...(specMatch.users === undefined
      ? {}
      : { users: specMatch.users, matchUser: compileNameList(specMatch.users) }),
    ...(specMatch.principal_kind === undefined
      ? {}
      : { kinds: new Set<PrincipalKind>(specMatch.principal_kind) }),
    ...(when === undefined ? {} : { when }),
    ...(approval === undefined ? {} : { approval }),
    ...(mask === undefined ? {} : { mask }),
    ...(reason === undefined ? {} : { reason }),
  };
}
