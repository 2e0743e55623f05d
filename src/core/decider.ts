import type { Action } from "./action.ts";
import type { Decision, MaskRequirement } from "./decision.ts";

/** The policy seam: the gate asks, the policy module answers. Protocols never see it. */
export interface Decider {
  decide(action: Action): Decision;
  readonly version: string;
  /** Mask rules that could apply to anything this principal does on this connection. */
  possibleMasks?(probe: Pick<Action, "protocol" | "principal" | "connection">): readonly MaskRequirement[];
}
