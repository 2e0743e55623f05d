/** What the gate concluded about one action. */
export type Effect = "allow" | "deny" | "approve";

export interface ApprovalRequirement {
  readonly reviewers: readonly string[];
  readonly minApprovals: number;
  readonly ttlSeconds: number;
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
}

export function denial(reasonCode: string, reason: string, policyVersion = "none"): Decision {
  return { effect: "deny", reasonCode, reason, ruleIds: [], policyVersion };
}
