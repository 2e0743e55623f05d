import type { Decision, Effect } from "../core/index.ts";
import type { TimeFacts } from "./time.ts";

export type RuleEffect = Effect | "mask";
export type RuleMode = "enforce" | "shadow";
export type { MaskRequirement, MaskStrategy } from "../core/index.ts";

/** The core decision as the policy engine makes it (masks included). */
export type PolicyDecision = Decision;

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
