import type { Decision, Effect } from "../core/index.ts";
import type { TimeFacts } from "./time.ts";

export type RuleEffect = Effect | "mask";
export type RuleMode = "enforce" | "shadow";
export type MaskStrategy = "redact" | "hash" | "partial" | "null";

/** What a mask rule asks the data path to hide in results. */
export interface MaskRequirement {
  readonly ruleId: string;
  /** `table.column` names or globs (`*.email`). */
  readonly columns: readonly string[];
  /** Value detectors (`email`, `credit_card`, ...), applied to every column. */
  readonly detectors: readonly string[];
  readonly strategy: MaskStrategy;
}

/** The core decision plus what only the policy engine knows. */
export interface PolicyDecision extends Decision {
  /** Every applicable enforcing mask rule, in bundle order. Masks never grant access. */
  readonly masks?: readonly MaskRequirement[];
}

/** One rule as loaded, for listings and tooling. */
export interface RuleSummary {
  readonly id: string;
  readonly description?: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly mode: RuleMode;
  readonly effect: RuleEffect;
  /** Undefined when the rule applies to every protocol. */
  readonly protocols?: readonly string[];
  readonly when?: string;
}

/** How one rule fared against one action (for `sluice policy explain`). */
export interface RuleExplanation extends RuleSummary {
  /** True when every `match` key (protocol included) matched. */
  readonly matched: boolean;
  /** `when` result: absent when the rule has no `when` or did not match. */
  readonly condition?: "true" | "false" | "error";
  /** True when the rule applied (matched and its `when` was true or failed). */
  readonly applied: boolean;
  /** True when the rule is one of the decision's `ruleIds`. */
  readonly deciding: boolean;
  /** Why the rule did not apply. */
  readonly whyNot?: string;
  /** Evaluation error of `when` (the rule then counts as a deny: fail closed). */
  readonly error?: string;
}

export interface PolicyExplanation {
  readonly decision: PolicyDecision;
  /** Every rule of the bundle, in bundle order. */
  readonly rules: readonly RuleExplanation[];
  /** Time facts used, when any rule reads `time`. */
  readonly time?: TimeFacts;
}
