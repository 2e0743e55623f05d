/** A half-open range `[start, end)` of UTF-16 code units in the scanned text. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * Finds sensitive values in text. `find` must run in time linear in the text (no backtracking
 * regular expressions), must not allocate per character, and returns spans in any order; they
 * may overlap. Return `NO_SPANS` when nothing is found.
 */
export interface Detector {
  /** Lower case letters, digits, `_` and `-`, as policy rules name it (`credit_card`). */
  readonly name: string;
  find(text: string): readonly Span[];
}

/** The shared empty result, so a scan that finds nothing allocates nothing. */
export const NO_SPANS: readonly Span[] = Object.freeze([]);

/** Appends a span to a lazily created list (so scans that find nothing allocate nothing). */
export function withSpan(spans: Span[] | undefined, start: number, end: number): Span[] {
  const list = spans ?? [];
  list.push({ start, end });
  return list;
}
