import { at, isBase64UrlChar } from "./chars.ts";
import { type Detector, NO_SPANS, type Span, withSpan } from "./types.ts";

/** JOSE headers are small; a longer first segment is not decoded. */
const MAX_HEADER_LENGTH = 4096;

function segmentEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && isBase64UrlChar(text.charCodeAt(i))) i++;
  return i;
}

function headerHasAlg(text: string, start: number, end: number): boolean {
  if (end - start > MAX_HEADER_LENGTH) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(text.slice(start, end), "base64url").toString("utf8"));
    return (
      typeof header === "object" &&
      header !== null &&
      typeof (header as Record<string, unknown>).alg === "string"
    );
  } catch {
    return false;
  }
}

/**
 * JSON Web Tokens (JWS compact form, and JWE's five segments): base64url segments joined by
 * dots, the first starting `eyJ` (base64url of `{"`) and decoding to a JSON object with an `alg`
 * string. The signature may be empty (`alg: none`). Not matched: other dotted base64 text, and a
 * token glued to a preceding base64url character or dot.
 */
export const jwtDetector: Detector = {
  name: "jwt",
  find(text: string): readonly Span[] {
    let spans: Span[] | undefined;
    let from = 0;
    for (let i = text.indexOf("eyJ"); i !== -1; i = text.indexOf("eyJ", from)) {
      from = i + 1;
      const before = at(text, i - 1);
      if (isBase64UrlChar(before) || before === 46) continue;
      const headerEnd = segmentEnd(text, i);
      from = headerEnd;
      if (at(text, headerEnd) !== 46) continue;
      const payloadEnd = segmentEnd(text, headerEnd + 1);
      if (payloadEnd === headerEnd + 1 || at(text, payloadEnd) !== 46) continue;
      let end = segmentEnd(text, payloadEnd + 1);
      // JWE: two more segments.
      for (let extra = 0; extra < 2 && at(text, end) === 46 && isBase64UrlChar(at(text, end + 1)); extra++) {
        end = segmentEnd(text, end + 1);
      }
      if (!headerHasAlg(text, i, headerEnd)) continue;
      spans = withSpan(spans, i, end);
      from = end;
    }
    return spans ?? NO_SPANS;
  },
};
