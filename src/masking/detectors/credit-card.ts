import { at, isDigit, standsAlone } from "./chars.ts";
import { type Detector, NO_SPANS, type Span, withSpan } from "./types.ts";

/** Space or dash: the separators written between digit groups of a card number. */
function isSeparator(c: number): boolean {
  return c === 32 || c === 45;
}

const DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9] as const;

/**
 * Whether a number of `length` digits whose first six digits are `prefix6` (as an integer)
 * belongs to a payment network's issuer range: Visa, Mastercard, American Express, Discover,
 * Diners Club, JCB, UnionPay, Maestro, Mir, RuPay, Troy.
 */
export function knownIssuer(prefix6: number, length: number): boolean {
  const p1 = Math.floor(prefix6 / 100_000);
  const p2 = Math.floor(prefix6 / 10_000);
  const p3 = Math.floor(prefix6 / 1_000);
  const p4 = Math.floor(prefix6 / 100);
  if (p1 === 4) return length === 13 || length === 16 || length === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return length === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return length === 15; // American Express
  if (p4 >= 2200 && p4 <= 2204) return length >= 16; // Mir
  if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) return length >= 14; // Diners
  if (p4 >= 3528 && p4 <= 3589) return length >= 16; // JCB
  // Maestro (50, 56-69), Discover (6011, 644-649, 65), UnionPay (62), RuPay (60, 65).
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return true;
  if (p2 === 81 || p2 === 82) return length === 16; // RuPay
  if (p4 === 9792) return length === 16; // Troy
  return false;
}

export interface CreditCardOptions {
  /** Require a known issuer prefix and length (default true): cuts false positives roughly in half. */
  readonly checkIssuer?: boolean;
}

/**
 * Payment card numbers: 13 to 19 digits, optionally in groups separated by single spaces or
 * dashes, that pass the Luhn check (and, by default, start with a known issuer prefix for their
 * length). A number touching a letter, digit or `_`, following a `+` (a phone number), or forming
 * part of a decimal (`0.4111…`) is not matched; a window of whole groups inside a longer grouped
 * sequence is (`qty 2 4111 1111 1111 1111`).
 */
export function createCreditCardDetector(options: CreditCardOptions = {}): Detector {
  const checkIssuer = options.checkIssuer ?? true;

  /** Tries windows of whole groups that start at group start `from`; returns the match end or -1. */
  function matchFrom(text: string, from: number, sequenceEnd: number): number {
    // Luhn sums for both parities, so each window end is checked in O(1).
    let plainEven = 0;
    let plainOdd = 0;
    let doubledEven = 0;
    let doubledOdd = 0;
    let digits = 0;
    let prefix6 = 0;
    let best = -1;
    let i = from;
    while (i < sequenceEnd && digits < 19) {
      const c = text.charCodeAt(i);
      if (isDigit(c)) {
        const d = c - 48;
        if (digits % 2 === 0) {
          plainEven += d;
          doubledEven += DOUBLED[d]!;
        } else {
          plainOdd += d;
          doubledOdd += DOUBLED[d]!;
        }
        if (digits < 6) prefix6 = prefix6 * 10 + d;
        digits++;
        i++;
        const groupEnds = i === sequenceEnd || !isDigit(text.charCodeAt(i));
        if (groupEnds && digits >= 13) {
          // The last digit is never doubled: with it at an even index, odd indexes are doubled.
          const sum = (digits - 1) % 2 === 0 ? plainEven + doubledOdd : plainOdd + doubledEven;
          if (sum % 10 === 0 && (!checkIssuer || knownIssuer(prefix6, digits))) best = i;
        }
      } else {
        i++;
      }
    }
    return best;
  }

  return {
    name: "credit_card",
    find(text: string): readonly Span[] {
      let spans: Span[] | undefined;
      const n = text.length;
      let i = 0;
      while (i < n) {
        if (!isDigit(text.charCodeAt(i))) {
          i++;
          continue;
        }
        // A sequence: digit groups joined by single separators.
        const start = i;
        let digits = 0;
        for (;;) {
          while (i < n && isDigit(text.charCodeAt(i))) {
            i++;
            digits++;
          }
          if (i + 1 < n && isSeparator(text.charCodeAt(i)) && isDigit(text.charCodeAt(i + 1))) i++;
          else break;
        }
        const end = i;
        if (digits < 13 || !standsAlone(text, start, end) || at(text, start - 1) === 43) continue;
        let group = start;
        while (group < end) {
          const matchEnd = matchFrom(text, group, end);
          if (matchEnd !== -1) {
            spans = withSpan(spans, group, matchEnd);
            group = matchEnd;
          }
          // Next group start.
          while (group < end && isDigit(text.charCodeAt(group))) group++;
          group++;
        }
      }
      return spans ?? NO_SPANS;
    },
  };
}

export const creditCardDetector: Detector = createCreditCardDetector();
