/** What the gate concluded about one action. */
export type Effect = "allow" | "deny" | "approve";

export interface ApprovalRequirement {
  readonly reviewers: readonly string[];
  readonly minApprovals: number;
  readonly ttlSeconds: number;
}

export type MaskStrategy = "redact" | "hash" | "partial" | "null";

/** What a mask rule asks the data path to hide in results. */
export interface MaskRequirement {
  readonly ruleId: string;
  /** `table.column` names or globs (`*.email`). */
  readonly columns: readonly string[];
  /** Value detectors (`email`, `credit_card`, ...), applied to every column not masked by name. */
  readonly detectors: readonly string[];
  readonly strategy: MaskStrategy;
  /** Deny statements that filter, join, group or sort on a masked column (a bit-by-bit oracle). */
  readonly denyInFilters?: boolean;
}

export interface Decision {
  readonly effect: Effect;
  /** Stable kebab-case reason code, e.g. `rule-denied`, `no-rule-allowed`, `audit-unavailable`. */
  readonly reasonCode: string;
  /** Human sentence shown to the user. */
  readonly reason: string;
  /** Rules that produced the effect (the deciding ones first). */
  readonly ruleIds: readonly string[];
  /** Hash of the policy bundle that decided (`sha256:<hex>`). */
  readonly policyVersion: string;
  /** Git commit (HEAD) of the policy directory's checkout when it is one; informational. */
  readonly policyCommit?: string;
  /** Rules in shadow mode that would have changed the outcome, for audit only. */
  readonly shadowRuleIds?: readonly string[];
  readonly approval?: ApprovalRequirement;
  /** The approval request that held this action, or whose approval let it run. */
  readonly approvalId?: string;
  /** Mask rules for what this action returns (allowed actions only). Masks never grant access. */
  readonly masks?: readonly MaskRequirement[];
}

export function denial(reasonCode: string, reason: string, policyVersion = "none"): Decision {
  return { effect: "deny", reasonCode, reason, ruleIds: [], policyVersion };
}
