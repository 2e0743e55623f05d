import { at, digitAt, isDigit, isWordChar } from "./chars.ts";
import { type Detector, NO_SPANS, type Span, withSpan } from "./types.ts";

/** Three numbers from fixed positions of the 11-character shape, or -1 where not a digit. */
function number(text: string, from: number, digits: number): number {
  let value = 0;
  for (let k = 0; k < digits; k++) {
    const d = digitAt(text, from + k);
    if (d < 0) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** A character that joins tokens into a compound identifier (`ORD-123-45-6789`, `v1.123-45-6789`). */
function isJoiner(c: number): boolean {
  return c === 45 || c === 46 || c === 47 || c === 43;
}

/**
 * US Social Security numbers written `AAA-GG-SSSS` or `AAA GG SSSS` (the same separator twice),
 * standing alone, with the never-issued ranges excluded: area 000, 666 and 900-999, group 00,
 * serial 0000. Nine digits without separators are not matched (too many other numbers look so).
 */
export const usSsnDetector: Detector = {
  name: "us_ssn",
  find(text: string): readonly Span[] {
    if (text.length < 11) return NO_SPANS;
    let spans: Span[] | undefined;
    for (let i = 0; i + 11 <= text.length; i++) {
      if (!isDigit(text.charCodeAt(i))) continue;
      const before = at(text, i - 1);
      if (isWordChar(before) || isJoiner(before)) continue;
      const separator = text.charCodeAt(i + 3);
      if ((separator !== 45 && separator !== 32) || text.charCodeAt(i + 6) !== separator) continue;
      const area = number(text, i, 3);
      const group = number(text, i + 4, 2);
      const serial = number(text, i + 7, 4);
      if (area <= 0 || area === 666 || area >= 900 || group <= 0 || serial <= 0) continue;
      const after = at(text, i + 11);
      if (isWordChar(after) || ((isJoiner(after) || after === separator) && isDigit(at(text, i + 12))))
        continue;
      spans = withSpan(spans, i, i + 11);
      i += 10;
    }
    return spans ?? NO_SPANS;
  },
};
