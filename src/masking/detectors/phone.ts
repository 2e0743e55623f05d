import { at, isDigit, isWordChar } from "./chars.ts";
import { type Detector, NO_SPANS, type Span, withSpan } from "./types.ts";

/**
 * National formats, as shapes: `d` any digit, `N` 2-9 (a NANP area code's first digit), anything
 * else literal. Deliberately short: North American numbers with separators, and trunk-prefix (`0`)
 * numbers in common European groupings. Ten or eleven digits each.
 */
export const NATIONAL_SHAPES: readonly string[] = [
  "Ndd-ddd-dddd",
  "Ndd.ddd.dddd",
  "Ndd ddd dddd",
  "(Ndd) ddd-dddd",
  "(Ndd)ddd-dddd",
  "(Ndd) ddd dddd",
  "(Ndd) ddd.dddd",
  "1-Ndd-ddd-dddd",
  "1 Ndd ddd dddd",
  "1 Ndd-ddd-dddd",
  "1.Ndd.ddd.dddd",
  "1 (Ndd) ddd-dddd",
  "1 (Ndd) ddd dddd",
  "0dd dddd dddd",
  "0ddd ddd dddd",
  "0dddd dddddd",
  "0dd-dddd-dddd",
  "0d dd dd dd dd",
  "0d.dd.dd.dd.dd",
];

function matchesShape(text: string, from: number, shape: string): boolean {
  if (from + shape.length > text.length) return false;
  for (let k = 0; k < shape.length; k++) {
    const c = text.charCodeAt(from + k);
    const s = shape.charCodeAt(k);
    if (s === 100 /* d */) {
      if (!isDigit(c)) return false;
    } else if (s === 78 /* N */) {
      if (c < 50 || c > 57) return false;
    } else if (c !== s) {
      return false;
    }
  }
  return true;
}

/** Characters that glue a number into a larger token (`ORD-555-123-4567`, `1.555.123.4567.8`). */
function isJoiner(c: number): boolean {
  return c === 45 || c === 46 || c === 47 || c === 43 || c === 95;
}

function endsCleanly(text: string, end: number): boolean {
  const after = at(text, end);
  if (isWordChar(after)) return false;
  return !(isJoiner(after) && isDigit(at(text, end + 1)));
}

function isPhoneSeparator(c: number): boolean {
  return c === 32 || c === 45 || c === 46;
}

/**
 * E.164-style international numbers: `+`, a country code digit 1-9, then 10 to 15 digits in all,
 * in groups joined by single spaces, dashes or dots, with optional parenthesised groups
 * (`+1 (555) 123-4567`, `+44 (0)20 7946 0958`, `+4915112345678`). Returns the end or -1.
 */
function matchInternational(text: string, plus: number): number {
  let i = plus + 1;
  const first = at(text, i);
  if (first < 49 || first > 57) return -1;
  let digits = 0;
  let best = -1;
  for (;;) {
    if (at(text, i) === 40 /* ( */) {
      let k = i + 1;
      while (isDigit(at(text, k)) && k - i <= 4) k++;
      if (k === i + 1 || at(text, k) !== 41 /* ) */) break;
      digits += k - i - 1;
      i = k + 1;
    } else if (isDigit(at(text, i))) {
      while (isDigit(at(text, i))) {
        i++;
        digits++;
        if (digits > 15) return best;
      }
      if (digits >= 10 && !isWordChar(at(text, i))) best = i;
    } else {
      break;
    }
    if (digits > 15) break;
    const c = at(text, i);
    const next = at(text, i + 1);
    if (isPhoneSeparator(c) && (isDigit(next) || next === 40)) i++;
    else if (c !== 40 && !(at(text, i - 1) === 41 && isDigit(c))) break;
  }
  return best;
}

/**
 * Telephone numbers, conservatively: international numbers written with a leading `+` (10-15
 * digits), and the national shapes in `NATIONAL_SHAPES`. A run of digits without `+` or
 * separators (`5551234567`, a Unix timestamp) is not matched, nor is a shape glued to a longer
 * token by a letter, digit, `_`, `-`, `.`, `/` or `+`.
 */
export const phoneDetector: Detector = {
  name: "phone",
  find(text: string): readonly Span[] {
    if (text.length < 10) return NO_SPANS;
    let spans: Span[] | undefined;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (!isDigit(c) && c !== 40 && c !== 43) continue;
      const before = at(text, i - 1);
      if (isWordChar(before) || isJoiner(before) || before === 40) continue;
      let end = -1;
      if (c === 43) {
        end = matchInternational(text, i);
      } else {
        for (const shape of NATIONAL_SHAPES) {
          if (matchesShape(text, i, shape) && endsCleanly(text, i + shape.length)) {
            end = i + shape.length;
            break;
          }
        }
      }
      if (end !== -1) {
        spans = withSpan(spans, i, end);
        i = end - 1;
      }
    }
    return spans ?? NO_SPANS;
  },
};
