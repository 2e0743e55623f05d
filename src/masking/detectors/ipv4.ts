import { at, isDigit, isWordChar } from "./chars.ts";
import { type Detector, NO_SPANS, type Span, withSpan } from "./types.ts";

/** Reads one octet (0-255, no leading zero) at `i`; returns its end or -1. */
function octet(text: string, i: number): number {
  if (!isDigit(at(text, i))) return -1;
  if (text.charCodeAt(i) === 48) return isDigit(at(text, i + 1)) ? -1 : i + 1;
  let value = 0;
  let k = i;
  while (isDigit(at(text, k)) && k - i < 3) value = value * 10 + (text.charCodeAt(k++) - 48);
  return value <= 255 && !isDigit(at(text, k)) ? k : -1;
}

/**
 * IPv4 addresses in dotted-quad form (`10.0.0.1`, also inside `10.0.0.1:5432` and `10.0.0.0/8`).
 * Not matched: three-part versions (`1.2.3`), dotted numbers of more than four parts (`1.3.6.1.4.1`),
 * octets above 255 or with leading zeros, and a quad glued to a letter, digit or `_`
 * (`v1.2.3.4`). A four-part version number such as `1.2.3.4` is indistinguishable and is matched.
 */
export const ipv4Detector: Detector = {
  name: "ipv4",
  find(text: string): readonly Span[] {
    if (text.indexOf(".") === -1) return NO_SPANS;
    let spans: Span[] | undefined;
    for (let i = 0; i + 7 <= text.length; i++) {
      if (!isDigit(text.charCodeAt(i))) continue;
      const before = at(text, i - 1);
      if (isWordChar(before) || before === 46) continue;
      let end = i;
      for (let part = 0; part < 4 && end !== -1; part++) {
        if (part > 0) end = at(text, end) === 46 ? end + 1 : -1;
        if (end !== -1) end = octet(text, end);
      }
      if (end === -1) continue;
      const after = at(text, end);
      if (isWordChar(after) || (after === 46 && isDigit(at(text, end + 1)))) continue;
      spans = withSpan(spans, i, end);
      i = end - 1;
    }
    return spans ?? NO_SPANS;
  },
};
