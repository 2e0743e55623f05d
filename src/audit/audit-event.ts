import { randomUUID } from "node:crypto";
import type { Action, Decision, SessionContext } from "../core/index.ts";
import type { AuditRecord } from "../store/index.ts";

/** Audit event types, past tense and dotted. Documented in docs/audit.md. */
export const AuditEventType = {
  sessionStarted: "session.started",
  sessionEnded: "session.ended",
  sessionRefused: "session.refused",
  actionAllowed: "action.allowed",
  actionDenied: "action.denied",
  policyReloaded: "policy.reloaded",
  policyReloadFailed: "policy.reload_failed",
} as const;

function principalData(session: SessionContext): Record<string, unknown> {
  const p = session.principal;
  return {
    user: p.user,
    groups: p.groups,
    kind: p.kind,
    ...(p.onBehalfOf ? { on_behalf_of: p.onBehalfOf } : {}),
    ...(p.tokenId ? { token_id: p.tokenId } : {}),
  };
}

export function sessionEvent(
  type: string,
  session: SessionContext,
  extra: Record<string, unknown> = {},
): AuditRecord {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    type,
    sessionId: session.id,
    user: session.principal.user,
    connection: session.connection.name,
    effect: null,
    data: {
      principal: principalData(session),
      connection: {
        name: session.connection.name,
        protocol: session.connection.protocol,
        labels: session.connection.labels,
      },
      client_address: session.clientAddress,
      ...extra,
    },
  };
}

export function decisionEvent(
  session: SessionContext,
  action: Action,
  decision: Decision,
  batchId: string,
): AuditRecord {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    type: decision.effect === "allow" ? AuditEventType.actionAllowed : AuditEventType.actionDenied,
    sessionId: session.id,
    user: session.principal.user,
    connection: session.connection.name,
    effect: decision.effect,
    data: {
      principal: principalData(session),
      connection: {
        name: session.connection.name,
        protocol: session.connection.protocol,
        labels: session.connection.labels,
      },
      action: { kind: action.kind, protocol: action.protocol, text: action.text, facts: action.facts },
      decision: {
        effect: decision.effect,
        reason_code: decision.reasonCode,
        reason: decision.reason,
        rule_ids: decision.ruleIds,
        policy_version: decision.policyVersion,
        ...(decision.policyCommit ? { policy_commit: decision.policyCommit } : {}),
        ...(decision.shadowRuleIds?.length ? { shadow_rule_ids: decision.shadowRuleIds } : {}),
      },
      batch_id: batchId,
    },
  };
}

/** A gateway event outside any session (policy reloads); `user` is who asked, when known. */
export function gatewayEvent(type: string, data: Record<string, unknown>, user?: string): AuditRecord {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    type,
    sessionId: null,
    user: user ?? null,
    connection: null,
    effect: null,
    data,
  };
}
