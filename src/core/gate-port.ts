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
