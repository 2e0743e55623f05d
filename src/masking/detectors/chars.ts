/** Character-class helpers over UTF-16 code units, for the hand-written scanners. */

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

export function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

export function isLetter(c: number): boolean {
  return isUpper(c) || isLower(c);
}

export function isAlnum(c: number): boolean {
  return isDigit(c) || isLetter(c);
}

/** ASCII letter, digit or `_` (what `\w` matches). */
export function isWordChar(c: number): boolean {
  return isAlnum(c) || c === 95;
}

export function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** `[A-Za-z0-9_-]`: base64url, and the body of most API tokens. */
export function isBase64UrlChar(c: number): boolean {
  return isWordChar(c) || c === 45;
}

/** Code unit at `i`, or -1 outside the text (so boundary checks need no range tests). */
export function at(text: string, i: number): number {
  return i >= 0 && i < text.length ? text.charCodeAt(i) : -1;
}

/** Digit value at `i`, or -1 when it is not a digit. */
export function digitAt(text: string, i: number): number {
  const c = at(text, i);
  return isDigit(c) ? c - 48 : -1;
}

/**
 * True when the number-like token at [start, end) stands alone: no word character touches it,
 * and it is not one part of a decimal or dotted number (`0.4111…`, `…1111.5`).
 */
export function standsAlone(text: string, start: number, end: number): boolean {
  const before = at(text, start - 1);
  if (isWordChar(before)) return false;
  if ((before === 46 || before === 44) && isDigit(at(text, start - 2))) return false;
  const after = at(text, end);
  if (isWordChar(after)) return false;
  if ((after === 46 || after === 44) && isDigit(at(text, end + 1))) return false;
  return true;
}
