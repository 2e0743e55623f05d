import { AuditEventType, gatewayEvent } from "../audit/index.ts";
import type { AgentTokenEvent, LoginEvent, ServiceAccountEvent } from "../identity/index.ts";
import type { AuditRecord } from "../store/index.ts";

/**
 * Audit events for identity: logins, refreshes, logouts and revocations of login sessions,
 * service-account keys created and revoked, and tokens exchanged (API keys, agents). They name
 * users, sessions, key ids and token ids (`jti`), never a token, refresh secret, API key or hash.
 */

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** The event for a login-session change; undefined for what another event already covers. */
export function loginAuditEvent(event: LoginEvent): AuditRecord | undefined {
  const session = { login_session: event.sessionId, provider: event.provider };
  switch (event.type) {
    case "login":
    case "refresh":
      return gatewayEvent(
        event.type === "login" ? AuditEventType.identityLogin : AuditEventType.identityRefresh,
        {
          user: event.user,
          kind: "human",
          groups: event.groups ?? [],
          ...session,
          ...(event.sessionExpiresAt === undefined
            ? {}
            : { session_expires_at: iso(event.sessionExpiresAt) }),
        },
        event.user,
      );
    case "logout":
      return gatewayEvent(AuditEventType.identityLogout, { user: event.user, ...session }, event.user);
    case "revoked":
      return gatewayEvent(
        AuditEventType.identityRevoked,
        { user: event.user, ...session, reason: event.reason ?? "revoked" },
        event.user,
      );
    case "refresh-refused":
      // The revocation it caused is recorded (identity.revoked, with the reason).
      return undefined;
  }
}

export function serviceAccountAuditEvent(event: ServiceAccountEvent): AuditRecord {
  const key = { account: event.record.account, key_id: event.record.id };
  switch (event.type) {
    case "created":
      return gatewayEvent(
        AuditEventType.serviceAccountCreated,
        {
          ...key,
          groups: event.record.groups,
          expires_at: iso(event.record.expiresAt),
          ...(event.record.description === undefined ? {} : { description: event.record.description }),
          ...(event.by === undefined ? {} : { by: event.by }),
        },
        event.by,
      );
    case "revoked":
      return gatewayEvent(
        AuditEventType.serviceAccountRevoked,
        { ...key, ...(event.by === undefined ? {} : { by: event.by }) },
        event.by,
      );
    case "exchanged":
      return gatewayEvent(
        AuditEventType.tokenExchanged,
        {
          grant: "api_key",
          user: event.record.account,
          kind: "service",
          groups: event.record.groups,
          ...key,
          token_id: event.tokenId,
          expires_at: iso(event.expiresAt),
        },
        event.record.account,
      );
  }
}

/** An agent token minted for a logged-in person; the event's user is that person. */
export function agentTokenAuditEvent(event: AgentTokenEvent): AuditRecord {
  return gatewayEvent(
    AuditEventType.tokenExchanged,
    {
      grant: "token_exchange",
      user: event.actor,
      kind: "agent",
      groups: event.groups,
      on_behalf_of: { user: event.subject, groups: event.groups },
      login_session: event.loginSessionId,
      token_id: event.tokenId,
      expires_at: iso(event.expiresAt),
    },
    event.subject,
  );
}
