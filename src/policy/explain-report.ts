import type { Action, ConnectionInfo } from "../core/index.ts";
import type { PolicyBundle } from "./bundle.ts";
import {
  type BatchOutcome,
  combineDecisions,
  type StatementOutcome,
  type TestIdentity,
  testAction,
} from "./policy-test-runner.ts";
import type { PolicyExplanation } from "./types.ts";

export interface ExplainedStatement extends StatementOutcome {
  readonly explanation: PolicyExplanation;
}

/** Every fact a rule's `when` can read for this action, as JSON-ready data. */
export function visibleFacts(action: Action, explanation: PolicyExplanation): Record<string, unknown> {
  const p = action.principal;
  return {
    ...action.facts,
    principal: { user: p.user, groups: p.groups, kind: p.kind, on_behalf_of: p.onBehalfOf ?? null },
    connection: action.connection,
    action: { kind: action.kind, protocol: action.protocol },
    ...(explanation.time === undefined ? {} : { time: explanation.time }),
  };
}

/**
 * Decides and explains each analysed statement of a command for an identity on a connection, and
 * combines them as the gateway would (`sluice policy explain`, the console's playground).
 */
export function explainCommands(
  bundle: PolicyBundle,
  identity: TestIdentity,
  connection: ConnectionInfo,
  commands: readonly { readonly kind: string; readonly text: string; readonly facts: Action["facts"] }[],
  sessionId: string,
): { statements: ExplainedStatement[]; outcome: BatchOutcome } {
  const statements = commands.map((command): ExplainedStatement => {
    const action = testAction(identity, connection, command, sessionId);
    return {
      kind: command.kind,
      text: command.text,
      action,
      decision: bundle.decide(action),
      explanation: bundle.explain(action),
    };
  });
  return { statements, outcome: combineDecisions(statements) };
}

/** The JSON form of an explanation; `ruleFile` may shorten the rules' file paths. */
export function explanationJson(
  statements: readonly ExplainedStatement[],
  outcome: BatchOutcome,
  ruleFile: (file: string) => string = (file) => file,
) {
  return {
    statements: statements.map((s) => ({
      kind: s.kind,
      text: s.text,
      facts: visibleFacts(s.action, s.explanation),
      rules: s.explanation.rules.map((r) => ({ ...r, file: ruleFile(r.file) })),
      decision: s.decision,
    })),
    decision: {
      effect: outcome.effect,
      reason_code: outcome.reasonCode,
      reason: outcome.reason,
      rule_ids: outcome.ruleIds,
      masks: outcome.masks,
      approvers: outcome.approvers,
      shadow_rule_ids: outcome.shadowRuleIds,
    },
  };
}
