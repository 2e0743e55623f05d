import { at, isAlnum, isDigit, isLetter, isWordChar } from "./chars.ts";
import { type Detector, NO_SPANS, type Span, withSpan } from "./types.ts";

/** IBAN length per country (ISO 13616 registry), keyed by `countryKey`. */
const IBAN_LENGTHS: ReadonlyMap<number, number> = new Map(
  [
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27",
    "DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28",
    "IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22",
    "MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24",
    "SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30",
  ]
    .join(" ")
    .split(" ")
    .map((entry) => [countryKey(entry.charCodeAt(0), entry.charCodeAt(1)), Number(entry.slice(2))] as const),
);

/** Two letters of either case as one number, so lookups allocate nothing. */
function countryKey(c0: number, c1: number): number {
  return (c0 & ~0x20) * 256 + (c1 & ~0x20);
}

/** Value of an IBAN character for the mod-97 check: digits 0-9, letters A=10 … Z=35. */
function value(c: number): number {
  return isDigit(c) ? c - 48 : (c | 0x20) - 87;
}

/** ISO 7064 mod 97-10 over the IBAN with its first four characters moved to the end. */
function checksumHolds(text: string, start: number, end: number): boolean {
  let remainder = 0;
  for (let k = 0; k < end - start; k++) {
    // The first four characters are read last.
    const c = text.charCodeAt(k < end - start - 4 ? start + 4 + k : start + k - (end - start - 4));
    if (c === 32) continue;
    const v = value(c);
    remainder = (v < 10 ? remainder * 10 + v : remainder * 100 + v) % 97;
  }
  return remainder === 1;
}

/**
 * International Bank Account Numbers: a known country code, two check digits and the country's
 * exact length, written either without spaces or in groups of four separated by single spaces
 * (`DE89 3704 0044 0532 0130 00`), validated with the mod-97 check. Letters may be in either case.
 */
export const ibanDetector: Detector = {
  name: "iban",
  find(text: string): readonly Span[] {
    let spans: Span[] | undefined;
    for (let i = 0; i + 15 <= text.length; i++) {
      const c0 = text.charCodeAt(i);
      if (!isWordChar(c0)) continue;
      // A word starts here: only its first character can start an IBAN; skip the rest of it.
      let wordEnd = i + 1;
      while (wordEnd < text.length && isWordChar(text.charCodeAt(wordEnd))) wordEnd++;
      const c1 = text.charCodeAt(i + 1);
      if (
        !isLetter(c0) ||
        !isLetter(c1) ||
        !isDigit(text.charCodeAt(i + 2)) ||
        !isDigit(text.charCodeAt(i + 3))
      ) {
        i = wordEnd - 1;
        continue;
      }
      const length = IBAN_LENGTHS.get(countryKey(c0, c1));
      if (length === undefined) {
        i = wordEnd - 1;
        continue;
      }
      let count = 4;
      let group = 4;
      let spaced = false;
      let j = i + 4;
      while (count < length && j < text.length) {
        const c = text.charCodeAt(j);
        if (isAlnum(c)) {
          if (spaced && group === 4) break;
          count++;
          group++;
          j++;
        } else if (c === 32 && group === 4 && isAlnum(at(text, j + 1)) && (spaced || count === 4)) {
          spaced = true;
          group = 0;
          j++;
        } else {
          break;
        }
      }
      if (count !== length || isAlnum(at(text, j)) || !checksumHolds(text, i, j)) {
        i = wordEnd - 1;
        continue;
      }
      spans = withSpan(spans, i, j);
      i = j - 1;
    }
    return spans ?? NO_SPANS;
  },
};
