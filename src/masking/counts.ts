/** How much one result (a table, a document, a text stream) had masked, for the audit event. */
export interface MaskCounts {
  /** Values (cells, COPY fields, JSON leaves and keys, text lines or messages) masked by any rule. */
  readonly values: number;
  /**
   * Per rule id, in rule order, every rule listed (0 when it masked nothing): the values in which
   * the rule masked something. A value two rules both cover counts for each of them.
   */
  readonly byRule: Readonly<Record<string, number>>;
}

/** Accumulates counts by rule index; one per result. */
export class MaskCounter {
  readonly #ruleIds: readonly string[];
  readonly #perRule: number[];
  #values = 0;

  constructor(ruleIds: readonly string[]) {
    this.#ruleIds = ruleIds;
    this.#perRule = ruleIds.map(() => 0);
  }

  /** One value masked by the rules at `ruleIndexes`. */
  add(ruleIndexes: readonly number[]): void {
    this.#values++;
    for (const r of ruleIndexes) this.#perRule[r]!++;
  }

  /** One value masked by the rules whose flag is set; clears the flags. */
  addFlagged(flags: Uint8Array): void {
    this.#values++;
    for (let r = 0; r < flags.length; r++) {
      if (flags[r] === 1) {
        this.#perRule[r]!++;
        flags[r] = 0;
      }
    }
  }

  snapshot(): MaskCounts {
    const byRule: Record<string, number> = {};
    this.#ruleIds.forEach((id, r) => {
      byRule[id] = (byRule[id] ?? 0) + this.#perRule[r]!;
    });
    return { values: this.#values, byRule };
  }
}
