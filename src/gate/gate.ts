import { randomUUID } from "node:crypto";
import { AuditEventType, type AuditLog, decisionEvent, eventId, sessionEvent } from "../audit/index.ts";
import {
  type Action,
  type BatchVerdict,
  type Connection,
  type Decider,
  type Decision,
  denial,
  ErrorCodes,
  type GatePort,
  type Principal,
  type SessionContext,
  SluiceError,
} from "../core/index.ts";

export interface GateOptions {
  readonly decider: Decider;
  readonly audit: AuditLog;
  /** Verifies a client credential (a gateway token today; IdP-issued tokens later). */
  readonly verifyCredential: (credential: string) => Promise<Principal>;
  readonly connections: ReadonlyMap<string, Connection>;
  /** Where operational problems are reported (never with secrets). */
  readonly log: (message: string) => void;
}

/**
 * The one place every protocol's actions are decided and recorded: decide, write the decision
 * ahead of forwarding, and tell the adapter whether to forward or refuse. Fails closed.
 */
export class Gate implements GatePort {
  constructor(private readonly options: GateOptions) {}

  async authenticate(credential: string, connectionName: string, protocol: string) {
    const connection = this.options.connections.get(connectionName);
    if (!connection || connection.protocol !== protocol) {
      throw new SluiceError(
        ErrorCodes.unknownConnection,
        `no ${protocol} connection named "${connectionName}"`,
        {
          expose: true,
        },
      );
    }
    const principal = await this.options.verifyCredential(credential);
    return { principal, connection };
  }

  openSession(principal: Principal, connection: Connection, clientAddress: string): SessionContext {
    const session: SessionContext = { id: randomUUID(), principal, connection, clientAddress };
    this.options.audit
      .record(sessionEvent(AuditEventType.sessionStarted, session))
      .catch((error: unknown) => {
        this.options.log(`audit: could not record session start: ${String(error)}`);
      });
    return session;
  }

  closeSession(session: SessionContext, reason: string): void {
    this.options.audit
      .record(sessionEvent(AuditEventType.sessionEnded, session, { reason }))
      .catch((error: unknown) => {
        this.options.log(`audit: could not record session end: ${String(error)}`);
      });
  }

  async judge(session: SessionContext, actions: readonly Action[]): Promise<BatchVerdict> {
    const decisions = actions.map((action) => this.decideOne(action));
    const refusal = decisions.find((d) => d.effect !== "allow");
    const final = refusal ? decisions.map((d) => (d.effect === "allow" ? batchDenied(d) : d)) : decisions;
    return this.recordAhead(session, actions, final, refusal);
  }

  async refuse(
    session: SessionContext,
    actions: readonly Action[],
    reasonCode: string,
    reason: string,
  ): Promise<Decision> {
    const decision = denial(reasonCode, reason, this.options.decider.version);
    const verdict = await this.recordAhead(
      session,
      actions,
      actions.map(() => decision),
      decision,
    );
    return verdict.refusal ?? decision;
  }

  private decideOne(action: Action): Decision {
    let decision: Decision;
    try {
      decision = this.options.decider.decide(action);
    } catch (error) {
      this.options.log(`policy: evaluation failed, denying: ${String(error)}`);
      return denial("policy-error", "the policy could not decide this action", this.options.decider.version);
    }
    if (decision.effect === "approve") {
      // Held approvals arrive with their own module; until then an approval requirement fails closed.
      const reviewers = decision.approval?.reviewers.join(", ") ?? "a reviewer";
      return {
        ...decision,
        effect: "deny",
        reasonCode: "approval-unavailable",
        reason: `${decision.reason} (needs approval by ${reviewers}; approvals are not enabled on this gateway)`,
      };
    }
    return decision;
  }

  private async recordAhead(
    session: SessionContext,
    actions: readonly Action[],
    decisions: readonly Decision[],
    refusal: Decision | undefined,
  ): Promise<BatchVerdict> {
    const batchId = eventId();
    try {
      await Promise.all(
        actions.map((action, i) =>
          this.options.audit.record(decisionEvent(session, action, decisions[i]!, batchId)),
        ),
      );
    } catch (error) {
      this.options.log(`audit: store unavailable, denying: ${String(error)}`);
      const unavailable = denial(
        "audit-unavailable",
        "the audit trail is unavailable, so nothing can run",
        this.options.decider.version,
      );
      return { allowed: false, decisions: actions.map(() => unavailable), refusal: unavailable };
    }
    return refusal ? { allowed: false, decisions, refusal } : { allowed: true, decisions };
  }
}

function batchDenied(decision: Decision): Decision {
  return {
    ...decision,
    effect: "deny",
    reasonCode: "batch-denied",
    reason: "not run: another statement in the same request was denied",
  };
}
