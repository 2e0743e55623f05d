import type { Action, AllowProbe, Decider, MaskRequirement } from "../core/index.ts";
import type { PolicyBundle } from "./bundle.ts";
import type { PolicyDecision, PolicyExplanation } from "./types.ts";

/** The gate's `Decider`: holds the current bundle; `swap` installs a reloaded one atomically. */
export class PolicyEngine implements Decider {
  #bundle: PolicyBundle;

  constructor(bundle: PolicyBundle) {
    this.#bundle = bundle;
  }

  get bundle(): PolicyBundle {
    return this.#bundle;
  }

  get version(): string {
    return this.#bundle.version;
  }

  decide(action: Action): PolicyDecision {
    return this.#bundle.decide(action);
  }

  possibleMasks(probe: Pick<Action, "protocol" | "principal" | "connection">): readonly MaskRequirement[] {
    return this.#bundle.possibleMasks(probe);
  }

  couldAllow(probe: AllowProbe): boolean {
    return this.#bundle.couldAllow(probe);
  }

  explain(action: Action): PolicyExplanation {
    return this.#bundle.explain(action);
  }

  /** Installs `bundle` for every later decision; returns the previous one. */
  swap(bundle: PolicyBundle): PolicyBundle {
    const previous = this.#bundle;
    this.#bundle = bundle;
    return previous;
  }
}
