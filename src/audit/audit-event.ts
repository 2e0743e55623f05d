import { randomBytes } from "node:crypto";
import type { Action, Decision, MaskingCounts, SessionContext } from "../core/index.ts";
import type { AuditRecord } from "../store/index.ts";

/** Event ids: a random per-process prefix and a counter; unique without a UUID per event. */
const idPrefix = randomBytes(9).toString("base64url");
let idCounter = 0;
export function eventId(): string {
  idCounter++;
  return `${idPrefix}-${idCounter.toString(36)}`;
}

/** Audit event types, past tense and dotted. Documented in docs/audit.md. */
export const AuditEventType = {
  sessionStarted: "session.started",
  sessionEnded: "session.ended",
  sessionRefused: "session.refused",
  actionAllowed: "action.allowed",
  actionDenied: "action.denied",
  actionHeld: "action.held",
  policyReloaded: "policy.reloaded",
  policyReloadFailed: "policy.reload_failed",
  retentionApplied: "audit.retention_applied",
  checkpoint: "audit.checkpoint",
  resultMasked: "result.masked",
  identityLogin: "identity.login",
  identityRefresh: "identity.refresh",
  identityLogout: "identity.logout",
  identityRevoked: "identity.revoked",
  serviceAccountCreated: "service_account.created",
  serviceAccountRevoked: "service_account.revoked",
  tokenExchanged: "token.exchanged",
} as const;

/**
 * Event types of the trail's own bookkeeping: retention keeps their bodies (verification reads
 * them) until they leave with the oldest rows.
 */
export const BOOKKEEPING_TYPE_PREFIX = "audit.";

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
    id: eventId(),
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

/** Serialised once per session and per (frozen, cached) facts object: the hot path reuses them. */
const sessionJson = new WeakMap<SessionContext, string>();
const factsJson = new WeakMap<object, string>();

function sessionPart(session: SessionContext): string {
  let json = sessionJson.get(session);
  if (json === undefined) {
    const c = session.connection;
    json = `"principal":${JSON.stringify(principalData(session))},"connection":${JSON.stringify({ name: c.name, protocol: c.protocol, labels: c.labels })}`;
    sessionJson.set(session, json);
  }
  return json;
}

function factsPart(facts: Action["facts"]): string {
  let json = factsJson.get(facts);
  if (json === undefined) {
    json = JSON.stringify(facts);
    factsJson.set(facts, json);
  }
  return json;
}

export function decisionEvent(
  session: SessionContext,
  action: Action,
  decision: Decision,
  batchId: string,
): AuditRecord {
  const decisionData = {
    effect: decision.effect,
    reason_code: decision.reasonCode,
    reason: decision.reason,
    rule_ids: decision.ruleIds,
    policy_version: decision.policyVersion,
    ...(decision.policyCommit ? { policy_commit: decision.policyCommit } : {}),
    ...(decision.shadowRuleIds?.length ? { shadow_rule_ids: decision.shadowRuleIds } : {}),
    ...(decision.masks?.length ? { mask_rule_ids: decision.masks.map((m) => m.ruleId) } : {}),
    ...(decision.approvalId ? { approval_id: decision.approvalId } : {}),
  };
  const dataJson = `{${sessionPart(session)},"action":{"kind":${JSON.stringify(action.kind)},"protocol":${JSON.stringify(action.protocol)},"text":${JSON.stringify(action.text)},"facts":${factsPart(action.facts)}},"decision":${JSON.stringify(decisionData)},"batch_id":${JSON.stringify(batchId)}}`;
  return {
    id: eventId(),
    time: new Date().toISOString(),
    type:
      decision.effect === "allow"
        ? AuditEventType.actionAllowed
        : decision.effect === "approve"
          ? AuditEventType.actionHeld
          : AuditEventType.actionDenied,
    sessionId: session.id,
    user: session.principal.user,
    connection: session.connection.name,
    effect: decision.effect,
    dataJson,
    get data(): Record<string, unknown> {
      return JSON.parse(dataJson) as Record<string, unknown>;
    },
  };
}

/** What one result had masked, recorded after it was sent (the decision came before it). */
export function maskingEvent(session: SessionContext, action: Action, counts: MaskingCounts): AuditRecord {
  return sessionEvent(AuditEventType.resultMasked, session, {
    action: { kind: action.kind, protocol: action.protocol, text: action.text },
    masked: { values: counts.values, by_rule: counts.byRule },
  });
}

/** A gateway event outside any session (policy reloads); `user` is who asked, when known. */
export function gatewayEvent(type: string, data: Record<string, unknown>, user?: string): AuditRecord {
  return {
    id: eventId(),
    time: new Date().toISOString(),
    type,
    sessionId: null,
    user: user ?? null,
    connection: null,
    effect: null,
    data,
  };
}
