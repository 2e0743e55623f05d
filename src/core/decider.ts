import type { Action, Facts } from "./action.ts";
import type { Decision, MaskRequirement } from "./decision.ts";

/**
 * A static question about a kind of action rather than one action: what is known of it ahead of
 * time (who, where, which protocol and some facts, e.g. `mcp.tool`). Facts not given are unknown.
 */
export interface AllowProbe extends Pick<Action, "kind" | "protocol" | "principal" | "connection"> {
  readonly facts: Facts;
}

/** The policy seam: the gate asks, the policy module answers. Protocols never see it. */
export interface Decider {
  decide(action: Action): Decision;
  readonly version: string;
  /** Mask rules that could apply to anything this principal does on this connection. */
  possibleMasks?(probe: Pick<Action, "protocol" | "principal" | "connection">): readonly MaskRequirement[];
  /**
   * Whether some action matching the probe could be allowed (or held for approval): an enforcing
   * allow or approve rule could apply and no enforcing deny rule certainly applies. Conditions
   * that read facts the probe does not give (or `time`) count as possibly true. Used to offer only
   * what could work (MCP `tools/list`); every real action is still decided by `decide`.
   */
  couldAllow?(probe: AllowProbe): boolean;
}
