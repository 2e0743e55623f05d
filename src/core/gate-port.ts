import type { Action } from "./action.ts";
import type { Connection } from "./connection.ts";
import type { Decision } from "./decision.ts";
import type { Principal } from "./principal.ts";

/** A session as the gate knows it; protocol adapters hold one per client connection. */
export interface SessionContext {
  readonly id: string;
  readonly principal: Principal;
  readonly connection: Connection;
  readonly clientAddress: string;
}

/** The verdict for a batch of actions that must run together or not at all. */
export interface BatchVerdict {
  readonly allowed: boolean;
  readonly decisions: readonly Decision[];
  /** The first refusing decision, when not allowed. */
  readonly refusal?: Decision;
}

/** Outcome of one forwarded command, reported back for audit (rows, errors, duration). */
export interface ActionOutcome {
  readonly ok: boolean;
  readonly rows?: number;
  readonly commandTag?: string;
  readonly error?: string;
  readonly durationMs: number;
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
  /** Decide, then write the decisions ahead of forwarding. Fails closed: never throws. */
  judge(session: SessionContext, actions: readonly Action[]): Promise<BatchVerdict>;
  /** Report what happened to an allowed action (best effort, after the fact). */
  reportOutcome(session: SessionContext, text: string, outcome: ActionOutcome): void;
  closeSession(session: SessionContext, reason: string): void;
}
