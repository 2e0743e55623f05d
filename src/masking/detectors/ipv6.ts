import { isIP } from "node:net";
import { at, isHexDigit, isWordChar } from "./chars.ts";
import { type Detector, NO_SPANS, type Span, withSpan } from "./types.ts";

/** Longest textual IPv6 address (with an embedded IPv4 tail). */
const MAX_IPV6_LENGTH = 45;

function isAddressChar(c: number): boolean {
  return isHexDigit(c) || c === 58 /* : */ || c === 46; /* . */
}

/**
 * IPv6 addresses (`2001:db8::1`, `::1`, `fe80::1`, `::ffff:192.0.2.1`): a run of hex digits,
 * colons and dots with at least two colons and one hex digit, not glued to another word
 * character, that node:net's `isIP` accepts (a trailing `.` or `:` of the sentence is dropped).
 * Not matched: times (`12:30:45`), MAC addresses (`00:1a:2b:3c:4d:5e`), a bare `::`, `std::vector`.
 * Zone ids (`%eth0`) are left visible.
 */
export const ipv6Detector: Detector = {
  name: "ipv6",
  find(text: string): readonly Span[] {
    if (text.indexOf(":") === -1) return NO_SPANS;
    let spans: Span[] | undefined;
    let i = 0;
    while (i < text.length) {
      if (!isAddressChar(text.charCodeAt(i))) {
        i++;
        continue;
      }
      const start = i;
      let colons = 0;
      let hex = false;
      while (i < text.length && isAddressChar(text.charCodeAt(i))) {
        const c = text.charCodeAt(i);
        if (c === 58) colons++;
        else if (c !== 46) hex = true;
        i++;
      }
      if (colons < 2 || !hex || i - start > MAX_IPV6_LENGTH + 2) continue;
      if (isWordChar(at(text, start - 1)) || isWordChar(at(text, i))) continue;
      let end = i;
      for (let trim = 0; trim < 3 && end - start >= 2; trim++) {
        if (isIP(text.slice(start, end)) === 6) {
          spans = withSpan(spans, start, end);
          break;
        }
        const last = text.charCodeAt(end - 1);
        if (last !== 46 && last !== 58) break;
        end--;
      }
    }
    return spans ?? NO_SPANS;
  },
};
