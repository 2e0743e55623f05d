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
import type { ApprovalGate } from "./approval-gate.ts";

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
  /** Held approvals; absent: an `approve` decision is refused (`approval-unavailable`). */
  readonly approvals?: ApprovalGate;
  /** How long a held command waits for reviewers (default 5 minutes). */
  readonly approvalHoldMs?: number;
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
    const granted = this.withGrants(session, actions);
    let decisions: readonly Decision[] = granted.map((action) => this.decideOne(action));
    if (review !== undefined) decisions = await this.reviewed(actions, decisions, review);
    const approvals = this.options.approvals;
    if (approvals !== undefined && decisions.some((d) => d.effect === "approve")) {
      return this.judgeApprovals(session, actions, [...decisions], approvals);
    }
    const refusal = decisions.find((d) => d.effect !== "allow");
    const final = refusal ? decisions.map((d) => (d.effect === "allow" ? batchDenied(d) : d)) : decisions;
    return this.recordAhead(session, actions, final, refusal);
  }

  get approvalHoldMs(): number {
    return this.options.approvalHoldMs ?? 5 * 60_000;
  }

  /** Approve decisions: run on an earlier approval, else hold (unless something is denied). */
  private async judgeApprovals(
    session: SessionContext,
    actions: readonly Action[],
    decisions: Decision[],
    approvals: ApprovalGate,
  ): Promise<BatchVerdict> {
    try {
      if (!decisions.some((d) => d.effect === "deny"))
        await approvals.claimEarlier(session, actions, decisions);
      const refusal = decisions.find((d) => d.effect === "deny");
      if (refusal !== undefined) {
        const final = decisions.map((d) => (d.effect === "deny" ? d : batchDenied(d)));
        return this.recordAhead(session, actions, final, refusal);
      }
      if (!decisions.some((d) => d.effect === "approve"))
        return this.recordAhead(session, actions, decisions, undefined);
      const held = await approvals.hold(session, actions, decisions);
      const withIds = decisions.map((d, i) => {
        const h = held.find((x) => x.actionIndex === i);
        return h === undefined ? d : { ...d, approvalId: h.requestId };
      });
      // Only the held statements are recorded now (`action.held`); every statement of the batch
      // gets its final decision when the wait ends, so nothing is recorded as allowed that may not run.
      const heldIndexes = new Set(held.map((h) => h.actionIndex));
      const verdict = await this.recordAhead(
        session,
        actions.filter((_, i) => heldIndexes.has(i)),
        withIds.filter((_, i) => heldIndexes.has(i)),
        undefined,
      );
      return verdict.allowed
        ? { allowed: false, decisions: withIds, held }
        : { allowed: false, decisions: actions.map(() => verdict.refusal!), refusal: verdict.refusal! };
    } catch (error) {
      this.options.log(`approvals: unavailable, denying: ${String(error)}`);
      const unavailable = denial(
        "approval-unavailable",
        "the approval could not be requested or checked, so nothing ran",
        this.options.decider.version,
      );
      return this.recordAhead(
        session,
        actions,
        actions.map(() => unavailable),
        unavailable,
      );
    }
  }

  async awaitApprovals(
    session: SessionContext,
    actions: readonly Action[],
    verdict: BatchVerdict,
    options: { readonly signal?: AbortSignal },
  ): Promise<BatchVerdict> {
    const approvals = this.options.approvals;
    const held = verdict.held ?? [];
    if (approvals === undefined || held.length === 0) return verdict;
    let outcome: Awaited<ReturnType<ApprovalGate["outcome"]>>;
    try {
      outcome = await approvals.outcome(held, verdict.decisions, this.approvalHoldMs, options.signal);
    } catch (error) {
      this.options.log(`approvals: wait failed, denying: ${String(error)}`);
      const failed = denial(
        "approval-unavailable",
        "the approval could not be checked, so nothing ran",
        this.options.decider.version,
      );
      return this.recordAhead(
        session,
        actions,
        actions.map(() => failed),
        failed,
      );
    }
    const recorded = await this.recordAhead(session, actions, outcome.decisions, outcome.refusal);
    if (!recorded.allowed && outcome.refusal === undefined) {
      // The audit store failed after approval: nothing runs.
      return {
        allowed: false,
        decisions: outcome.decisions.map(() => recorded.refusal!),
        refusal: recorded.refusal!,
      };
    }
    return outcome.refusal === undefined
      ? { allowed: true, decisions: outcome.decisions }
      : { allowed: false, decisions: outcome.decisions, refusal: outcome.refusal };
  }

  /** Actions as policy sees them: the principal with the groups approved grants add right now. */
  private withGrants(session: SessionContext, actions: readonly Action[]): readonly Action[] {
    const granted = this.options.approvals?.grantedGroups(session) ?? [];
    const extra = granted.filter((g) => !session.principal.groups.includes(g));
    if (extra.length === 0) return actions;
    const principal = { ...session.principal, groups: [...session.principal.groups, ...extra] };
    return actions.map((a) => ({ ...a, principal }));
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
    if (decision.effect === "approve" && this.options.approvals === undefined) {
      // Without the approvals module an approval requirement fails closed.
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
