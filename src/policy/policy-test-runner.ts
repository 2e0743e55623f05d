/**
 * Runs policy tests: each test's command goes through the real analyser of its connection's
 * protocol (injected by the caller: policy never imports protocols), every statement is decided by
 * the bundle, and the statements' decisions are combined the way the gate judges a batch.
 */
import type {
  Action,
  CommandAnalyser,
  ConnectionInfo,
  Effect,
  Principal,
  PrincipalKind,
} from "../core/index.ts";
import type { PolicyBundle } from "./bundle.ts";
import type { PolicyDiagnostic } from "./errors.ts";
import { loadPolicyBundle, readPolicyTestFiles } from "./load.ts";
import {
  type PolicyTestCase,
  type PolicyTestExpectation,
  type PolicyTestFile,
  parsePolicyTestFile,
} from "./policy-test-file.ts";
import type { PolicyDecision, RuleSummary } from "./types.ts";

/** One statement of a command and the bundle's decision about it. */
export interface StatementOutcome {
  readonly kind: string;
  readonly text: string;
  readonly action: Action;
  readonly decision: PolicyDecision;
}

/**
 * The decision about a whole command. As in the gateway, a batch runs only if every statement is
 * allowed: any deny → deny (with the denying statements' rules), else any approve → approve
 * (with their rules and reviewers), else allow (with every statement's allowing rules).
 */
export interface BatchOutcome {
  readonly effect: Effect;
  readonly reasonCode: string;
  readonly reason: string;
  /** Deciding rule ids of the statements with the batch's effect, first-seen order. */
  readonly ruleIds: readonly string[];
  /** Mask rules that applied to any statement. */
  readonly masks: readonly string[];
  /** Reviewer groups of every approval required. */
  readonly approvers: readonly string[];
  readonly shadowRuleIds: readonly string[];
  readonly statements: readonly StatementOutcome[];
}

function addAll(into: string[], items: readonly string[] | undefined): void {
  for (const item of items ?? []) if (!into.includes(item)) into.push(item);
}

/** Combines the statements' decisions (in statement order) into the batch outcome. */
export function combineDecisions(statements: readonly StatementOutcome[]): BatchOutcome {
  const effect: Effect = statements.some((s) => s.decision.effect === "deny")
    ? "deny"
    : statements.some((s) => s.decision.effect === "approve")
      ? "approve"
      : statements.length > 0
        ? "allow"
        : "deny";
  const deciding = statements.filter((s) => s.decision.effect === effect);
  const ruleIds: string[] = [];
  const approvers: string[] = [];
  const masks: string[] = [];
  const shadowRuleIds: string[] = [];
  for (const s of deciding) {
    addAll(ruleIds, s.decision.ruleIds);
    addAll(approvers, s.decision.approval?.reviewers);
  }
  for (const s of statements) {
    addAll(
      masks,
      s.decision.masks?.map((m) => m.ruleId),
    );
    addAll(shadowRuleIds, s.decision.shadowRuleIds);
  }
  const first = deciding[0]?.decision;
  return {
    effect,
    reasonCode: first?.reasonCode ?? "empty-command",
    reason: first?.reason ?? "the command has no statements",
    ruleIds,
    masks,
    approvers,
    shadowRuleIds,
    statements,
  };
}

/** A clock the runner sets before each test (a test's `given.time`, else the current time). */
export class SettableClock {
  #now: Date | undefined;
  /** Pass to the bundle as its `clock`. */
  readonly read = (): Date => this.#now ?? new Date();
  set(now: Date | undefined): void {
    this.#now = now;
  }
}

/** One field where a test's expectation and the actual outcome differ. */
export interface PolicyTestMismatch {
  readonly field: "effect" | "reason" | "rules" | "masks" | "approvers";
  readonly expected: string;
  readonly actual: string;
}

export interface PolicyTestResult {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly passed: boolean;
  readonly mismatches: readonly PolicyTestMismatch[];
  /** The outcome, when the test ran. */
  readonly outcome?: BatchOutcome;
  /** Why the test (or its whole file) could not run. */
  readonly diagnostics: readonly PolicyDiagnostic[];
}

export interface PolicyTestReport {
  readonly bundle: PolicyBundle;
  /** Test files, as named in results. */
  readonly files: readonly string[];
  readonly results: readonly PolicyTestResult[];
  readonly passed: number;
  readonly failed: number;
  /** Ids of the rules that applied (matched, `when` true) in some test, shadow rules included. */
  readonly exercised: ReadonlySet<string>;
  /** Rules no test exercised, in bundle order. */
  readonly unexercised: readonly RuleSummary[];
}

export interface PolicyTestOptions {
  /** The analysers of the data path, one per protocol; a test's connection protocol picks one. */
  readonly analysers: readonly CommandAnalyser[];
  /** IANA zone for `time.*` facts. Default `UTC`. */
  readonly timeZone?: string;
}

/**
 * Loads the bundle in `dir` (throws `PolicyError` when it is invalid) and runs every
 * `*.test.yaml` / `*.test.yml` under it.
 */
export async function runPolicyTests(dir: string, options: PolicyTestOptions): Promise<PolicyTestReport> {
  const clock = new SettableClock();
  const bundle = await loadPolicyBundle(dir, {
    clock: clock.read,
    ...(options.timeZone === undefined ? {} : { timeZone: options.timeZone }),
  });
  const display = (path: string) => `${dir.replace(/\/+$/, "")}/${path}`;
  const files = (await readPolicyTestFiles(dir)).map((f) => parsePolicyTestFile(display(f.path), f.text));
  return evaluatePolicyTests(bundle, files, { analysers: options.analysers, clock });
}

/** Runs parsed test files against a bundle compiled with `clock.read` as its clock. */
export function evaluatePolicyTests(
  bundle: PolicyBundle,
  files: readonly PolicyTestFile[],
  options: { readonly analysers: readonly CommandAnalyser[]; readonly clock: SettableClock },
): PolicyTestReport {
  const analysers = new Map(options.analysers.map((a) => [a.protocol, a]));
  const exercised = new Set<string>();
  const results: PolicyTestResult[] = [];
  for (const file of files) {
    if (file.diagnostics.length > 0) {
      const first = file.diagnostics[0] as PolicyDiagnostic;
      results.push({
        name: "(test file)",
        file: file.file,
        line: first.line,
        column: first.column,
        passed: false,
        mismatches: [],
        diagnostics: file.diagnostics,
      });
    }
    // Keep file order: broken and runnable tests interleaved by position.
    const entries: (PolicyTestCase | PolicyTestResult)[] = [
      ...file.tests,
      ...file.broken.map(
        (b): PolicyTestResult => ({ ...b, passed: false, mismatches: [], diagnostics: b.diagnostics }),
      ),
    ].sort((a, b) => a.line - b.line || a.column - b.column);
    for (const entry of entries) {
      if ("passed" in entry) results.push(entry);
      else results.push(runOne(bundle, entry, analysers, options.clock, exercised));
    }
  }
  options.clock.set(undefined);
  const passed = results.filter((r) => r.passed).length;
  return {
    bundle,
    files: files.map((f) => f.file),
    results,
    passed,
    failed: results.length - passed,
    exercised,
    unexercised: bundle.rules.filter((r) => !exercised.has(r.id)),
  };
}

/** The action for one analysed statement of a test (or of `sluice policy explain`). */
/** Who a policy test (or `policy explain`, or the console's playground) acts as. */
export interface TestIdentity {
  readonly user: string;
  readonly groups: readonly string[];
  readonly kind: PrincipalKind;
  readonly onBehalfOf?: { readonly user: string; readonly groups: readonly string[] };
}

export function testAction(
  identity: TestIdentity,
  connection: ConnectionInfo,
  command: { readonly kind: string; readonly text: string; readonly facts: Action["facts"] },
  sessionId = "policy-test",
): Action {
  const principal: Principal = {
    user: identity.user,
    groups: identity.groups,
    kind: identity.kind,
    ...(identity.onBehalfOf === undefined ? {} : { onBehalfOf: identity.onBehalfOf }),
  };
  return {
    kind: command.kind,
    protocol: connection.protocol,
    text: command.text,
    facts: command.facts,
    principal,
    connection,
    sessionId,
  };
}

function runOne(
  bundle: PolicyBundle,
  test: PolicyTestCase,
  analysers: ReadonlyMap<string, CommandAnalyser>,
  clock: SettableClock,
  exercised: Set<string>,
): PolicyTestResult {
  const base = { name: test.name, file: test.file, line: test.line, column: test.column };
  const fail = (message: string): PolicyTestResult => ({
    ...base,
    passed: false,
    mismatches: [],
    diagnostics: [{ file: test.file, line: test.line, column: test.column, message }],
  });
  const { given } = test;
  const analyser = analysers.get(given.connection.protocol);
  if (analyser === undefined) {
    return fail(
      `no analyser for protocol ${given.connection.protocol} (connection ${given.connection.name}); known: ${
        [...analysers.keys()].join(", ") || "none"
      }`,
    );
  }
  let commands: ReturnType<CommandAnalyser["analyse"]>;
  try {
    commands = analyser.analyse(given.command);
  } catch (error) {
    return fail(`the ${analyser.protocol} analyser failed: ${String(error)}`);
  }
  if (commands.length === 0) return fail("the command has no statements");

  clock.set(given.time);
  const statements = commands.map((command): StatementOutcome => {
    const action = testAction(given, given.connection, command);
    // `decide` is the data path; `explain` tells which rules applied, for coverage.
    const decision = bundle.decide(action);
    for (const rule of bundle.explain(action).rules) {
      if (rule.applied && rule.condition !== "error") exercised.add(rule.id);
    }
    return { kind: command.kind, text: command.text, action, decision };
  });
  const outcome = combineDecisions(statements);
  const mismatches = compare(test.expect, outcome);
  return { ...base, passed: mismatches.length === 0, mismatches, outcome, diagnostics: [] };
}

const list = (items: readonly string[]) => `[${items.join(", ")}]`;
const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.every((item) => b.includes(item)) && b.every((item) => a.includes(item));

function compare(expect: PolicyTestExpectation, outcome: BatchOutcome): PolicyTestMismatch[] {
  const mismatches: PolicyTestMismatch[] = [];
  if (expect.effect !== outcome.effect) {
    mismatches.push({ field: "effect", expected: expect.effect, actual: outcome.effect });
  }
  if (expect.reason !== undefined && !outcome.reason.includes(expect.reason)) {
    mismatches.push({
      field: "reason",
      expected: `contains ${JSON.stringify(expect.reason)}`,
      actual: JSON.stringify(outcome.reason),
    });
  }
  const sets = [
    ["rules", expect.rules, outcome.ruleIds],
    ["masks", expect.masks, outcome.masks],
    ["approvers", expect.approvers, outcome.approvers],
  ] as const;
  for (const [field, expected, actual] of sets) {
    if (expected !== undefined && !sameSet(expected, actual)) {
      mismatches.push({ field, expected: list(expected), actual: list(actual) });
    }
  }
  return mismatches;
}
