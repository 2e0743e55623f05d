import type { Action } from "./action.ts";
import type { Decision } from "./decision.ts";

/** The policy seam: the gate asks, the policy module answers. Protocols never see it. */
export interface Decider {
  decide(action: Action): Decision;
  readonly version: string;
}
