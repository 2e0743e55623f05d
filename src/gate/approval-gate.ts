import type { ApprovalRequest, ApprovalService } from "../approvals/index.ts";
import type { Action, Decision, HeldApproval, SessionContext } from "../core/index.ts";

/**
 * The gate's side of approvals: an `approve` decision becomes either an allow (an approval for
 * exactly this command was granted earlier and is used now), or a held request.
 */
export class ApprovalGate {
  constructor(
    private readonly service: ApprovalService,
    private readonly urlOf: (requestId: string) => string,
  ) {}

  /** Groups granted to the principal on this connection by approved, unexpired grants. */
  grantedGroups(session: SessionContext): readonly string[] {
    return this.service.grantedGroups(session.principal.user, session.connection.name);
  }

  /** Approve decisions that an earlier, unused approval of the same command now allows. */
  async claimEarlier(
    session: SessionContext,
    actions: readonly Action[],
    decisions: Decision[],
  ): Promise<void> {
    for (let i = 0; i < decisions.length; i++) {
      const decision = decisions[i]!;
      if (decision.effect !== "approve") continue;
      const claimed = await this.service.claimApproved(
        session.principal.user,
        session.connection.name,
        actions[i]!.text,
      );
      if (claimed) decisions[i] = approvedDecision(decision, claimed);
    }
  }

  /** Creates one request per approve decision. */
  async hold(
    session: SessionContext,
    actions: readonly Action[],
    decisions: readonly Decision[],
  ): Promise<HeldApproval[]> {
    const held: HeldApproval[] = [];
    for (let i = 0; i < decisions.length; i++) {
      const decision = decisions[i]!;
      if (decision.effect !== "approve" || decision.approval === undefined) continue;
      const action = actions[i]!;
      const request = await this.service.requestCommand({
        principal: session.principal,
        connection: session.connection.name,
        sessionId: session.id,
        protocol: action.protocol,
        command: action.text,
        facts: action.facts,
        ruleIds: decision.ruleIds,
        approval: decision.approval,
      });
      held.push({
        actionIndex: i,
        requestId: request.id,
        reviewers: request.reviewers,
        minApprovals: request.minApprovals,
        expiresAt: request.expiresAt,
        url: this.urlOf(request.id),
      });
    }
    return held;
  }

  /**
   * Waits for every held request; returns the final decisions (approved ones used up) and the
   * refusal, if any.
   */
  async outcome(
    held: readonly HeldApproval[],
    decisions: readonly Decision[],
    holdMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ decisions: Decision[]; refusal?: Decision }> {
    const final = [...decisions];
    let refusal: Decision | undefined;
    const waited = await Promise.all(held.map((h) => this.service.waitFor(h.requestId, holdMs, signal)));
    for (let k = 0; k < held.length; k++) {
      const h = held[k]!;
      const request = waited[k];
      const decision = final[h.actionIndex]!;
      if (refusal === undefined && request?.state === "approved" && (await this.service.use(request))) {
        final[h.actionIndex] = approvedDecision(decision, request);
        continue;
      }
      final[h.actionIndex] = unapprovedDecision(decision, h, request, signal?.aborted === true);
      refusal ??= final[h.actionIndex];
    }
    if (refusal !== undefined) {
      // Approvals already used by this batch are spent: the batch runs whole or not at all.
      for (let i = 0; i < final.length; i++) {
        if (final[i]!.effect === "allow")
          final[i] = {
            ...final[i]!,
            effect: "deny",
            reasonCode: "batch-denied",
            reason: "not run: another statement in the same request was not approved",
          };
      }
    }
    return refusal === undefined ? { decisions: final } : { decisions: final, refusal };
  }
}

function approvedDecision(decision: Decision, request: ApprovalRequest): Decision {
  const by = request.votes.filter((v) => v.decision === "approve").map((v) => v.reviewer);
  return {
    ...decision,
    effect: "allow",
    reasonCode: "approval-granted",
    reason: `approved in request ${request.id} by ${by.join(", ")}`,
    approvalId: request.id,
  };
}

function unapprovedDecision(
  decision: Decision,
  held: HeldApproval,
  request: ApprovalRequest | undefined,
  canceled: boolean,
): Decision {
  const base = { ...decision, effect: "deny" as const, approvalId: held.requestId };
  if (request?.state === "denied") {
    const no = request.votes.find((v) => v.decision === "deny");
    return {
      ...base,
      reasonCode: "approval-denied",
      reason: `request ${held.requestId} was denied by ${no?.reviewer ?? "a reviewer"}${no?.reason ? `: ${no.reason}` : ""}`,
    };
  }
  if (request?.state === "expired") {
    return {
      ...base,
      reasonCode: "approval-expired",
      reason: `request ${held.requestId} expired without approval`,
    };
  }
  if (canceled) {
    return {
      ...base,
      reasonCode: "approval-wait-canceled",
      reason: `stopped waiting for request ${held.requestId}; it stays open until ${held.expiresAt}: run the same statement again once it is approved`,
    };
  }
  if (request?.state === "approved" || request?.state === "used") {
    return {
      ...base,
      reasonCode: "approval-used",
      reason: `the approval of request ${held.requestId} was already used`,
    };
  }
  return {
    ...base,
    reasonCode: "approval-pending",
    reason: `request ${held.requestId} is not approved yet; it stays open until ${held.expiresAt}: run the same statement again once it is approved`,
  };
}
