import { at, isAlnum, isLetter } from "./chars.ts";
import { type Detector, NO_SPANS, type Span, withSpan } from "./types.ts";

/** `[A-Za-z0-9._%+-]`: the local part as people and systems actually write it. */
function isLocalChar(c: number): boolean {
  return isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
}

function isDomainChar(c: number): boolean {
  return isAlnum(c) || c === 46 || c === 45;
}

/**
 * Dot-separated labels of 1 to 63 letters, digits and inner hyphens; at least two labels; the last
 * (top-level domain) letters only with at least two, or an IDN `xn--` label.
 */
function validDomain(text: string, from: number, to: number): boolean {
  if (to - from > 253) return false;
  let labels = 0;
  let labelStart = from;
  for (let i = from; i <= to; i++) {
    if (i < to && text.charCodeAt(i) !== 46) continue;
    const length = i - labelStart;
    if (length < 1 || length > 63) return false;
    if (text.charCodeAt(labelStart) === 45 || text.charCodeAt(i - 1) === 45) return false;
    labels++;
    if (i === to) {
      if (labels < 2) return false;
      if (text.startsWith("xn--", labelStart)) return length > 4;
      if (length < 2) return false;
      for (let k = labelStart; k < i; k++) if (!isLetter(text.charCodeAt(k))) return false;
    }
    labelStart = i + 1;
  }
  return true;
}

/**
 * E-mail addresses: `local@domain.tld`. Not matched: quoted local parts, IP-literal domains
 * (`a@[10.0.0.1]`), single-label domains (`root@localhost`), numeric top-level labels
 * (`pkg@1.2.3`), and a bare `@handle`.
 */
export const emailDetector: Detector = {
  name: "email",
  find(text: string): readonly Span[] {
    let spans: Span[] | undefined;
    // Left scans never go below `floor`, so every character is visited at most twice.
    let floor = 0;
    for (let sign = text.indexOf("@"); sign !== -1; sign = text.indexOf("@", sign + 1)) {
      let start = sign;
      while (start > floor && isLocalChar(text.charCodeAt(start - 1))) start--;
      while (start < sign && text.charCodeAt(start) === 46) start++;
      let end = sign + 1;
      while (end < text.length && isDomainChar(text.charCodeAt(end))) end++;
      while (end > sign + 1 && (at(text, end - 1) === 46 || at(text, end - 1) === 45)) end--;
      if (start < sign && text.charCodeAt(sign - 1) !== 46 && validDomain(text, sign + 1, end)) {
        spans = withSpan(spans, start, end);
        floor = end;
      } else {
        floor = sign + 1;
      }
    }
    return spans ?? NO_SPANS;
  },
};
