import { randomUUID } from "node:crypto";
import {
  AuditEventType,
  type AuditLog,
  decisionEvent,
  eventId,
  maskingEvent,
  sessionEvent,
} from "../audit/index.ts";
import {
  type Action,
  type BatchVerdict,
  type Connection,
  type Decider,
  type Decision,
  type DecisionReview,
  denial,
  describeConnection,
  ErrorCodes,
  type GatePort,
  type MaskingCounts,
  type MaskRequirement,
  type Principal,
  type SessionContext,
  SluiceError,
  type StatementResult,
} from "../core/index.ts";
import { resultEvent, type SessionRecorder, statementEvent } from "../recording/index.ts";

export interface GateOptions {
  readonly decider: Decider;
  readonly audit: AuditLog;
  /** Verifies a client credential (a gateway token today; IdP-issued tokens later). */
  readonly verifyCredential: (credential: string) => Promise<Principal>;
  readonly connections: ReadonlyMap<string, Connection>;
  /** Where operational problems are reported (never with secrets). */
  readonly log: (message: string) => void;
  /** Session recordings; absent when recording is off. A failing recorder stops sessions. */
  readonly recorder?: SessionRecorder;
  /** Result rows kept per statement in a recording. */
  readonly recordedRowsPerStatement?: number;
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
    const recorder = this.options.recorder;
    if (recorder !== undefined) {
      // Fail closed: no recording, no session.
      if (!recorder.health().ok) {
        throw new SluiceError(ErrorCodes.recordingUnavailable, "session recording is unavailable", {
          expose: true,
        });
      }
      recorder.begin(session);
    }
    this.options.audit
      .record(sessionEvent(AuditEventType.sessionStarted, session))
      .catch((error: unknown) => {
        this.options.log(`audit: could not record session start: ${String(error)}`);
      });
    return session;
  }

  closeSession(session: SessionContext, reason: string): void {
    void this.options.recorder?.end(session.id, reason);
    this.options.audit
      .record(sessionEvent(AuditEventType.sessionEnded, session, { reason }))
      .catch((error: unknown) => {
        this.options.log(`audit: could not record session end: ${String(error)}`);
      });
  }

  async judge(
    session: SessionContext,
    actions: readonly Action[],
    review?: DecisionReview,
  ): Promise<BatchVerdict> {
    const unrecorded = this.recordingFailure(session);
    if (unrecorded)
      return this.recordAhead(
        session,
        actions,
        actions.map(() => unrecorded),
        unrecorded,
      );
    let decisions: readonly Decision[] = actions.map((action) => this.decideOne(action));
    if (review !== undefined) decisions = await this.reviewed(actions, decisions, review);
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

  recordedRows(_session: SessionContext): number {
    return this.options.recorder === undefined ? 0 : (this.options.recordedRowsPerStatement ?? 100);
  }

  recordResult(session: SessionContext, _action: Action, result: StatementResult): void {
    this.options.recorder?.record(session.id, resultEvent(result));
  }

  /** A denial when this session's recording has failed: nothing more may run unrecorded. */
  private recordingFailure(session: SessionContext): Decision | undefined {
    if (this.options.recorder?.failure(session.id) === undefined) return undefined;
    return denial(
      "recording-unavailable",
      "the session recording failed, so nothing more can run in this session",
      this.options.decider.version,
    );
  }

  sessionMasks(session: SessionContext): readonly MaskRequirement[] {
    const decider = this.options.decider;
    if (decider.possibleMasks === undefined) return [];
    return decider.possibleMasks({
      protocol: session.connection.protocol,
      principal: session.principal,
      connection: describeConnection(session.connection),
    });
  }

  recordMasking(session: SessionContext, action: Action, counts: MaskingCounts): void {
    this.options.audit.record(maskingEvent(session, action, counts)).catch((error: unknown) => {
      this.options.log(`audit: could not record masking counts: ${String(error)}`);
    });
  }

  /** The adapter's review; a failing or malformed review denies every action (fail closed). */
  private async reviewed(
    actions: readonly Action[],
    decisions: readonly Decision[],
    review: DecisionReview,
  ): Promise<readonly Decision[]> {
    try {
      const reviewed = await review(actions, decisions);
      if (reviewed.length === decisions.length) return reviewed;
      this.options.log("gate: the adapter's review returned the wrong number of decisions; denying");
    } catch (error) {
      this.options.log(`gate: the adapter's review failed, denying: ${String(error)}`);
    }
    const failed = denial(
      "review-failed",
      "the gateway could not prepare this statement's result handling",
      this.options.decider.version,
    );
    return actions.map(() => failed);
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
    const recorder = this.options.recorder;
    if (recorder !== undefined) {
      for (let i = 0; i < actions.length; i++) {
        recorder.record(session.id, statementEvent(actions[i]!, decisions[i]!));
      }
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
