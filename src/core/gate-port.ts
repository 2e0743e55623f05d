import type { Action } from "./action.ts";
import type { Connection } from "./connection.ts";
import type { Decision, MaskRequirement } from "./decision.ts";
import type { Principal } from "./principal.ts";

/** A session as the gate knows it; protocol adapters hold one per client connection. */
export interface SessionContext {
  readonly id: string;
  readonly principal: Principal;
  readonly connection: Connection;
  readonly clientAddress: string;
}

/** A command held for human approval. */
export interface HeldApproval {
  /** Index into the batch's actions. */
  readonly actionIndex: number;
  readonly requestId: string;
  readonly reviewers: readonly string[];
  readonly minApprovals: number;
  /** ISO time the request lapses. */
  readonly expiresAt: string;
  /** Where reviewers (and the requester) see the request. */
  readonly url: string;
}

/** The verdict for a batch of actions that must run together or not at all. */
export interface BatchVerdict {
  readonly allowed: boolean;
  readonly decisions: readonly Decision[];
  /** The first refusing decision, when not allowed and nothing is held. */
  readonly refusal?: Decision;
  /**
   * Commands waiting for approval: the batch is neither run nor refused yet; the adapter tells
   * the client and calls `awaitApprovals`.
   */
  readonly held?: readonly HeldApproval[];
}

/** Per action, its decision as the adapter will apply it (the same one, or a refusal). */
export type DecisionReview = (
  actions: readonly Action[],
  decisions: readonly Decision[],
) => Promise<readonly Decision[]>;

/** One statement's result as the client received it (masked), for the session recording. */
export interface StatementResult {
  readonly columns: readonly string[] | null;
  /** The first rows, at most the recording's cap. */
  readonly rows: readonly (readonly (string | null)[])[];
  readonly rowsOmitted: number;
  readonly commandTag: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly durationMs: number;
}

/** What one result had masked: values in all, and per mask rule id. */
export interface MaskingCounts {
  readonly values: number;
  readonly byRule: Readonly<Record<string, number>>;
}

/**
 * Everything a protocol adapter may ask of the core. Adapters never import policy, audit or
 * identity: they receive this port from the composition root.
 */
export interface GatePort {
  /** Verify a client credential for a named connection; throws SluiceError when refused. */
  authenticate(
    credential: string,
    connectionName: string,
    protocol: string,
  ): Promise<{
    principal: Principal;
    connection: Connection;
  }>;
  openSession(principal: Principal, connection: Connection, clientAddress: string): SessionContext;
  /**
   * Decide, then write the decisions ahead of forwarding. Fails closed: never throws. `review`
   * lets the adapter turn policy decisions into refusals before they are recorded (e.g. a masked
   * column used where masking cannot follow it); its failure denies the batch.
   */
  judge(session: SessionContext, actions: readonly Action[], review?: DecisionReview): Promise<BatchVerdict>;
  /**
   * Waits (at most `holdMs`, or until `signal` aborts) for the held commands of `verdict`, then
   * records and returns the final verdict: allowed when every request was approved (each is used
   * up), else a refusal naming the outcome (denied, expired, still pending, canceled).
   */
  awaitApprovals(
    session: SessionContext,
    actions: readonly Action[],
    verdict: BatchVerdict,
    options: { readonly signal?: AbortSignal },
  ): Promise<BatchVerdict>;
  /** How long a held command waits for reviewers before the client gets an answer. */
  readonly approvalHoldMs: number;
  /** Mask rules that could apply to anything in this session (see `Decider.possibleMasks`). */
  sessionMasks(session: SessionContext): readonly MaskRequirement[];
  /**
   * How many result rows this session's recording keeps per statement; 0 when the session is not
   * recorded (the adapter then need not follow results for the recording).
   */
  recordedRows(session: SessionContext): number;
  /** Record one statement's result in the session recording (it never blocks). */
  recordResult(session: SessionContext, action: Action, result: StatementResult): void;
  /** Record how much a result had masked (values per mask rule), after it was sent. */
  recordMasking(session: SessionContext, action: Action, counts: MaskingCounts): void;
  /**
   * Record a refusal the adapter made itself (a protocol guard, e.g. a session setting that would
   * change how SQL is read) without consulting policy. Fails closed like `judge`.
   */
  refuse(
    session: SessionContext,
    actions: readonly Action[],
    reasonCode: string,
    reason: string,
  ): Promise<Decision>;
  closeSession(session: SessionContext, reason: string): void;
}
