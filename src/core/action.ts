import type { ConnectionInfo } from "./connection.ts";
import type { Principal } from "./principal.ts";

/**
 * Facts a protocol analyser extracted from one command, namespaced by protocol family
 * (`sql`, `k8s`, `ssh`, `http`, `mcp`). Values are JSON-like so they can be audited and replayed.
 */
export type FactValue =
  | string
  | number
  | boolean
  | null
  | readonly FactValue[]
  | { readonly [k: string]: FactValue };
export type Facts = { readonly [namespace: string]: { readonly [field: string]: FactValue } };

/** One normalized command, the unit every protocol adapter hands to the gate. */
export interface Action {
  /** e.g. `sql.statement`, `k8s.request`, `ssh.exec`, `mcp.tool_call`. */
  readonly kind: string;
  readonly protocol: string;
  /** The exact command text as the client sent it (stored in audit, never interpreted). */
  readonly text: string;
  readonly facts: Facts;
  readonly principal: Principal;
  readonly connection: ConnectionInfo;
  readonly sessionId: string;
}
