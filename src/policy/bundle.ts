/** A compiled, immutable policy bundle: decides actions and explains decisions. */
import type {
  Action,
  AllowProbe,
  ApprovalRequirement,
  ConnectionInfo,
  Effect,
  Facts,
  Principal,
} from "../core/index.ts";
import { type Activation, buildActivation, evaluationMessage, timeRecord } from "./cel.ts";
import { type CompiledRule, explainMismatch, interpolate, matchesRule } from "./rule.ts";
import { TimeFactSource, type TimeFacts } from "./time.ts";
import type {
  MaskRequirement,
  PolicyDecision,
  PolicyExplanation,
  RuleExplanation,
  RuleSummary,
} from "./types.ts";

export const NO_RULE_ALLOWED = "no policy rule allows this action";

/** What `compilePolicyBundle` hands to the bundle. Not part of the public API. */
export interface BundleInit {
  readonly version: string;
  readonly gitCommit?: string;
  readonly rules: readonly CompiledRule[];
  readonly timeZone: string;
  readonly clock: () => Date;
}

/** One rule that applied; `error` set when its `when` failed (it then counts as a deny). */
interface Applied {
  readonly rule: CompiledRule;
  readonly error?: string;
}

interface Trace {
  readonly rules: RuleExplanation[];
}

export class PolicyBundle {
  /** `sha256:<hex>` over every policy file (path and content, sorted by path). */
  readonly version: string;
  /** HEAD of the git checkout holding the policy directory, when known. Informational. */
  readonly gitCommit?: string;
  readonly rules: readonly RuleSummary[];
  readonly timeZone: string;
  readonly #rules: readonly CompiledRule[];
  readonly #byProtocol = new Map<string, readonly CompiledRule[]>();
  readonly #anyProtocol: readonly CompiledRule[];
  readonly #usesTime: boolean;
  readonly #clock: () => Date;
  readonly #timeFacts: TimeFactSource<TimeFacts>;
  readonly #timeRecords: TimeFactSource<Record<string, unknown>>;
  /**
   * `match` depends only on the principal, the connection and the protocol, which are the same
   * objects for every action of a session: the matching rules are computed once per combination.
   */
  readonly #matched = new WeakMap<Principal, WeakMap<ConnectionInfo, Map<string, readonly CompiledRule[]>>>();

  /** @internal Use `compilePolicyBundle` or `loadPolicyBundle`. */
  constructor(init: BundleInit) {
    this.version = init.version;
    if (init.gitCommit !== undefined) this.gitCommit = init.gitCommit;
    this.timeZone = init.timeZone;
    this.#rules = init.rules;
    this.rules = init.rules.map((r) => r.summary);
    this.#clock = init.clock;
    this.#timeFacts = new TimeFactSource(init.timeZone, (facts) => facts);
    this.#timeRecords = new TimeFactSource(init.timeZone, timeRecord);
    this.#usesTime = init.rules.some((r) => r.when?.roots.has("time") === true);

    // Pre-index by protocol: each list keeps bundle order and includes the protocol-agnostic rules.
    this.#anyProtocol = init.rules.filter((r) => r.protocols === undefined);
    const protocols = new Set<string>();
    for (const rule of init.rules) for (const p of rule.protocols ?? []) protocols.add(p);
    for (const protocol of protocols) {
      this.#byProtocol.set(
        protocol,
        init.rules.filter((r) => r.protocols === undefined || r.protocols.has(protocol)),
      );
    }
    Object.freeze(this);
  }

  /** Decides one action. Deterministic for a given bundle, action and clock reading; never throws. */
  decide(action: Action): PolicyDecision {
    try {
      return this.#run(action, this.#candidates(action), undefined);
    } catch (error) {
      return {
        effect: "deny",
        reasonCode: "policy-error",
        reason: `policy evaluation failed (${error instanceof Error ? error.message : String(error)}); denying`,
        ruleIds: [],
        policyVersion: this.version,
        ...(this.gitCommit === undefined ? {} : { policyCommit: this.gitCommit }),
      };
    }
  }

  /**
   * Enforcing mask rules whose `match` covers this principal on this connection, ignoring `when`:
   * what any of the session's results could be masked by (data the protocol sends outside any
   * statement's result, such as notifications, gets all of them).
   */
  possibleMasks(probe: Pick<Action, "protocol" | "principal" | "connection">): readonly MaskRequirement[] {
    const action = { ...probe, kind: "probe", text: "", facts: {}, sessionId: "" } as Action;
    const masks: MaskRequirement[] = [];
    for (const rule of this.#candidates(action)) {
      if (rule.mode === "enforce" && rule.mask !== undefined) masks.push(rule.mask);
    }
    return masks;
  }

  /**
   * Whether an action like the probe could be allowed or held for approval: some enforcing allow
   * or approve rule matches and its `when` is true or unknown, and no enforcing deny rule
   * certainly applies. Known facts are the principal, the connection, the action and the probe's
   * facts. A `when` reading unknown facts is evaluated without them: CEL's `&&` and `||` absorb
   * the resulting "no such key" errors when the known part decides (`mcp.tool == "x" && sql...`
   * is false for another tool), so a bool result holds whatever the unknown facts are; an error,
   * or a presence test (`has()`), leaves it unknown.
   */
  couldAllow(probe: AllowProbe): boolean {
    const action = { ...probe, text: "", sessionId: "" } as Action;
    const known = knownFactPaths(probe.facts);
    let activation: Activation | undefined;
    let allows = false;
    for (const rule of this.#candidates(action)) {
      if (rule.mode !== "enforce" || rule.effect === "mask") continue;
      let outcome: "true" | "false" | "error" | "unknown" = "true";
      const when = rule.when;
      if (when !== undefined) {
        const complete = [...when.paths].every((path) => isKnownPath(path, known));
        if (!complete && (when.testsPresence || when.roots.has("time"))) {
          outcome = "unknown";
        } else {
          activation ??= buildActivation(action, this.#timeRecord, false);
          try {
            const result = when.evaluate(activation);
            outcome = result === true ? "true" : result === false ? "false" : "error";
          } catch {
            outcome = "error";
          }
          if (!complete && outcome === "error") outcome = "unknown";
        }
      }
      // An evaluation error makes any rule an applicable deny (as in `decide`).
      if (outcome === "error" || (rule.effect === "deny" && outcome === "true")) return false;
      if (rule.effect !== "deny" && outcome !== "false") allows = true;
    }
    return allows;
  }

  /** Every rule considered, whether it matched and why not, and the final decision. */
  explain(action: Action): PolicyExplanation {
    const trace: Trace = { rules: [] };
    const decision = this.#run(action, this.#rules, trace);
    const deciding = new Set(decision.ruleIds);
    const rules = trace.rules.map((r) => ({ ...r, deciding: deciding.has(r.id) }));
    return this.#usesTime
      ? { decision, rules, time: this.#timeFacts.at(this.#clock().getTime()) }
      : { decision, rules };
  }

  /** The rules whose `match` (protocol included) matches the action, in bundle order. */
  #candidates(action: Action): readonly CompiledRule[] {
    let byConnection = this.#matched.get(action.principal);
    if (byConnection === undefined) {
      byConnection = new WeakMap();
      this.#matched.set(action.principal, byConnection);
    }
    let byProtocol = byConnection.get(action.connection);
    if (byProtocol === undefined) {
      byProtocol = new Map();
      byConnection.set(action.connection, byProtocol);
    }
    let rules = byProtocol.get(action.protocol);
    if (rules === undefined) {
      const indexed = this.#byProtocol.get(action.protocol) ?? this.#anyProtocol;
      rules = indexed.filter((rule) => matchesRule(rule, action));
      byProtocol.set(action.protocol, rules);
    }
    return rules;
  }

  #now = (): TimeFacts => this.#timeFacts.at(this.#clock().getTime());
  #timeRecord = (): Record<string, unknown> => this.#timeRecords.at(this.#clock().getTime());

  /** Evaluates `rules` (already matched, unless tracing) and combines the result. */
  #run(action: Action, rules: readonly CompiledRule[], trace: Trace | undefined): PolicyDecision {
    let activation: Activation | undefined;
    let enforced: Applied[] | undefined;
    let shadowed: Applied[] | undefined;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule;
      if (trace !== undefined) {
        const whyNot = explainMismatch(rule, action);
        if (whyNot !== undefined) {
          trace.rules.push({ ...rule.summary, matched: false, applied: false, deciding: false, whyNot });
          continue;
        }
      }

      let error: string | undefined;
      if (rule.when !== undefined) {
        activation ??= buildActivation(action, this.#timeRecord, this.#usesTime);
        let result: unknown;
        try {
          result = rule.when.evaluate(activation);
        } catch (e) {
          error = evaluationMessage(e);
        }
        if (error === undefined && result !== true) {
          if (result === false) {
            trace?.rules.push({
              ...rule.summary,
              matched: true,
              condition: "false",
              applied: false,
              deciding: false,
              whyNot: "when is false",
            });
            continue;
          }
          error = `when returned ${typeof result}, not bool`;
        }
      }
      if (trace !== undefined) {
        const base = { ...rule.summary, matched: true, applied: true, deciding: false };
        if (error !== undefined) trace.rules.push({ ...base, condition: "error", error });
        else if (rule.when !== undefined) trace.rules.push({ ...base, condition: "true" });
        else trace.rules.push(base);
      }
      const applied: Applied = error === undefined ? { rule } : { rule, error };
      if (rule.mode === "shadow") {
        shadowed ??= [];
        shadowed.push(applied);
      } else {
        enforced ??= [];
        enforced.push(applied);
      }
    }
    return this.#conclude(action, enforced ?? [], shadowed);
  }

  #conclude(
    action: Action,
    enforced: readonly Applied[],
    shadowed: readonly Applied[] | undefined,
  ): PolicyDecision {
    let hasDeny = false;
    let hasApprove = false;
    let hasAllow = false;
    let masks: MaskRequirement[] | undefined;
    for (const a of enforced) {
      const effect = a.error === undefined ? a.rule.effect : "deny";
      if (effect === "deny") hasDeny = true;
      else if (effect === "approve") hasApprove = true;
      else if (effect === "allow") hasAllow = true;
      else if (a.rule.mask !== undefined) {
        masks ??= [];
        masks.push(a.rule.mask);
      }
    }
    const effect = combine(hasDeny, hasApprove, hasAllow);
    const decision = this.#decision(action, effect, enforced, masks);
    if (shadowed === undefined) return decision;

    const changed: string[] = [];
    for (const s of shadowed) {
      const would = s.error === undefined ? s.rule.effect : "deny";
      const differs =
        would === "mask"
          ? effect !== "deny"
          : combine(
              hasDeny || would === "deny",
              hasApprove || would === "approve",
              hasAllow || would === "allow",
            ) !== effect;
      if (differs) changed.push(s.rule.id);
    }
    return changed.length === 0 ? decision : { ...decision, shadowRuleIds: changed };
  }

  #decision(
    action: Action,
    effect: Effect,
    enforced: readonly Applied[],
    masks: readonly MaskRequirement[] | undefined,
  ): PolicyDecision {
    const winners: Applied[] = [];
    const ruleIds: string[] = [];
    for (const a of enforced) {
      if ((a.error === undefined ? a.rule.effect : "deny") === effect) {
        winners.push(a);
        ruleIds.push(a.rule.id);
      }
    }
    const first = winners[0];
    let reasonCode: string;
    let reason: string;
    let approval: ApprovalRequirement | undefined;
    if (first === undefined) {
      reasonCode = "no-rule-allowed";
      reason = NO_RULE_ALLOWED;
    } else if (effect === "deny") {
      const denying = winners.find((a) => a.error === undefined);
      if (denying !== undefined) {
        reasonCode = "rule-denied";
        reason = this.#reason(denying.rule, action) ?? `denied by rule ${denying.rule.id}`;
      } else {
        reasonCode = "policy-error";
        reason = `policy rule ${first.rule.id} could not be evaluated (${first.error}); denying`;
      }
    } else if (effect === "approve") {
      reasonCode = "approval-required";
      reason = this.#reason(first.rule, action) ?? `approval required by rule ${ruleIds.join(", ")}`;
      approval = mergeApprovals(winners);
    } else {
      reasonCode = "rule-allowed";
      reason = this.#reason(first.rule, action) ?? `allowed by rule ${first.rule.id}`;
    }
    const decision: { -readonly [K in keyof PolicyDecision]: PolicyDecision[K] } = {
      effect,
      reasonCode,
      reason,
      ruleIds,
      policyVersion: this.version,
    };
    if (this.gitCommit !== undefined) decision.policyCommit = this.gitCommit;
    if (approval !== undefined) decision.approval = approval;
    if (masks !== undefined) decision.masks = masks;
    return decision;
  }

  #reason(rule: CompiledRule, action: Action): string | undefined {
    return rule.reason === undefined ? undefined : interpolate(rule.reason, action, this.#now);
  }
}

/** Fact roots a probe always knows. */
const PROBE_ROOTS = new Set(["principal", "connection", "action"]);

function knownFactPaths(facts: Facts): ReadonlySet<string> {
  const known = new Set<string>();
  for (const [namespace, fields] of Object.entries(facts)) {
    for (const field of Object.keys(fields)) known.add(`${namespace}.${field}`);
  }
  return known;
}

/** `path` reads only known facts: a probe root, or a given fact (or something below one). */
function isKnownPath(path: string, known: ReadonlySet<string>): boolean {
  const dot = path.indexOf(".");
  if (PROBE_ROOTS.has(dot < 0 ? path : path.slice(0, dot))) return true;
  for (const k of known) if (path === k || path.startsWith(`${k}.`)) return true;
  return false;
}

function combine(deny: boolean, approve: boolean, allow: boolean): Effect {
  return deny ? "deny" : approve ? "approve" : allow ? "allow" : "deny";
}

/** Reviewers of every approve rule (first-seen order), the largest quorum, the shortest TTL. */
function mergeApprovals(applied: readonly Applied[]): ApprovalRequirement {
  const reviewers: string[] = [];
  let minApprovals = 0;
  let ttlSeconds = Number.POSITIVE_INFINITY;
  for (const { rule } of applied) {
    const approval = rule.approval;
    if (approval === undefined) continue;
    for (const r of approval.reviewers) if (!reviewers.includes(r)) reviewers.push(r);
    minApprovals = Math.max(minApprovals, approval.minApprovals);
    ttlSeconds = Math.min(ttlSeconds, approval.ttlSeconds);
  }
  return { reviewers, minApprovals, ttlSeconds };
}
