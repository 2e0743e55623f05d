import type { Facts } from "./action.ts";

/** One command as an analyser understood it: an action kind, its own text and its facts. */
export interface AnalysedCommand {
  readonly kind: string;
  /** This command's slice of the client's text (a message may hold several statements). */
  readonly text: string;
  readonly facts: Facts;
}

/**
 * Turns command text into facts. Each protocol family provides one; the policy test runner and
 * `policy explain` use the same analysers as the data path, wired by the composition root.
 * Never throws: text it cannot understand yields one command whose facts say so
 * (for SQL `sql.parsed == false`), which policy denies by default.
 */
export interface CommandAnalyser {
  readonly protocol: string;
  analyse(text: string): readonly AnalysedCommand[];
}
