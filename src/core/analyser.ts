import type { Facts } from "./action.ts";

/** One command as an analyser understood it: an action kind plus its facts. */
export interface AnalysedCommand {
  readonly kind: string;
  readonly facts: Facts;
}

/**
 * Turns command text into facts. Each protocol family provides one; the policy test runner and
 * `policy explain` use the same analysers as the data path, wired by the composition root.
 */
export interface CommandAnalyser {
  readonly protocol: string;
  analyse(text: string): AnalysedCommand;
}
