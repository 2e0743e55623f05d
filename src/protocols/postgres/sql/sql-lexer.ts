/**
 * Normalizes SQL text into a cache key: literal constants become placeholders, whitespace and
 * comments collapse to one space, everything else is kept exactly. Two texts with the same key
 * differ only in literal values, so (for results that do not depend on literal values) they
 * parse to the same shape. Returns null for anything it does not fully understand, and the
 * caller then falls back to exact-text caching.
 *
 * The placeholder spelling keeps the token class the PostgreSQL grammar cares about, because
 * some positions accept only one class (`INTERVAL '1' DAY`, `FETCH 5`): `?` is an integer that
 * fits in int4, `?f` any other number, `'?'` a character string (standard, E'' or dollar
 * quoted). Texts containing a bare `?` are refused so a placeholder can never be confused with
 * the operator. Literals whose content can make the parse fail (E'' strings with numeric or
 * Unicode escapes, U&'' strings, non-decimal or underscored numbers) are kept verbatim; texts
 * using UESCAPE are refused.
 */

export interface NormalizedSql {
  readonly key: string;
  /** Statements separated by semicolons outside strings and comments (empty ones not counted). */
  readonly statements: number;
}

const SPACE = 32;
const QUOTE = 39; // '
const DQUOTE = 34; // "
const DOLLAR = 36;
const DOT = 46;
const SEMICOLON = 59;
const DASH = 45;
const SLASH = 47;
const STAR = 42;
const BACKSLASH = 92;
const QUESTION = 63;
const AMPERSAND = 38;
const UNDERSCORE = 95;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** PostgreSQL treats every byte of a multibyte character as an identifier character. */
function isIdentStart(c: number): boolean {
  return isLetter(c) || c === UNDERSCORE || c >= 128;
}

function isIdentCont(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === DOLLAR;
}

function isSpace(c: number): boolean {
  return c === SPACE || (c >= 9 && c <= 13);
}

/** Index just past a comment starting at `i`, or -1 when it is unterminated. */
function skipBlockComment(text: string, i: number): number {
  const n = text.length;
  let depth = 1;
  let j = i + 2;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === SLASH && text.charCodeAt(j + 1) === STAR) {
      depth++;
      j += 2;
    } else if (c === STAR && text.charCodeAt(j + 1) === SLASH) {
      depth--;
      j += 2;
      if (depth === 0) return j;
    } else {
      j++;
    }
  }
  return -1;
}

function skipLineComment(text: string, i: number): number {
  const n = text.length;
  let j = i + 2;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === 10 || c === 13) return j;
    j++;
  }
  return n;
}

/**
 * True when another quote follows after whitespace and comments: PostgreSQL joins string
 * literals separated by a newline, or rejects them on one line; both are left to the exact cache.
 */
function quoteFollows(text: string, i: number): boolean {
  const n = text.length;
  let j = i;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (isSpace(c)) {
      j++;
    } else if (c === DASH && text.charCodeAt(j + 1) === DASH) {
      j = skipLineComment(text, j);
    } else if (c === SLASH && text.charCodeAt(j + 1) === STAR) {
      j = skipBlockComment(text, j);
      if (j < 0) return true;
    } else {
      return c === QUOTE;
    }
  }
  return false;
}

/** End (exclusive) of a quoted run with doubled-quote escapes starting at `open`, or -1. */
function endOfQuoted(text: string, open: number, quote: string): number {
  let j = open + 1;
  for (;;) {
    const close = text.indexOf(quote, j);
    if (close < 0) return -1;
    if (text.charCodeAt(close + 1) === quote.charCodeAt(0)) {
      j = close + 2;
      continue;
    }
    return close + 1;
  }
}

/** Whether a run of decimal digits (no sign, no underscores) fits in a signed 32-bit integer. */
function fitsInt4(digits: string): boolean {
  let start = 0;
  while (start < digits.length - 1 && digits.charCodeAt(start) === 48) start++;
  const len = digits.length - start;
  if (len < 10) return true;
  if (len > 10) return false;
  return digits.slice(start) <= "2147483647";
}

/**
 * Builds the key. Tokens kept as written are copied in runs (one slice per run) rather than
 * one by one; whitespace and comments become a single space before the next token.
 */
class KeyBuilder {
  private out = "";
  private runStart = -1;
  private pendingSpace = false;

  constructor(private readonly text: string) {}

  /** Whitespace or a comment starts at `at`. */
  space(at: number): void {
    this.flush(at);
    this.pendingSpace = true;
  }

  /** The token starting at `start` is kept as written. */
  keep(start: number): void {
    if (this.runStart >= 0) return;
    this.separate();
    this.runStart = start;
  }

  /** The token starting at `start` is replaced by `token`. */
  replace(start: number, token: string): void {
    this.flush(start);
    // `U&'...'` is a Unicode string kept as written: a placeholder right after `&` must not
    // read like one (`U&$$x$$` is `U & 'x'`, which the space keeps meaning).
    if (token.charCodeAt(0) === QUOTE && this.out.endsWith("&")) this.pendingSpace = true;
    this.separate();
    this.out += token;
  }

  finish(): string {
    this.flush(this.text.length);
    return this.out;
  }

  private separate(): void {
    if (this.pendingSpace && this.out.length > 0) this.out += " ";
    this.pendingSpace = false;
  }

  private flush(end: number): void {
    if (this.runStart >= 0) {
      this.out += this.text.slice(this.runStart, end);
      this.runStart = -1;
    }
  }
}

export function normalizeSql(text: string): NormalizedSql | null {
  // A NUL ends the query string on the wire; the text is not what the server would see.
  if (text.includes("\0")) return null;
  const n = text.length;
  const out = new KeyBuilder(text);
  let statements = 0;
  let segmentHasToken = false;
  let i = 0;

  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      out.space(i);
      i++;
      continue;
    }
    if (c === DASH && text.charCodeAt(i + 1) === DASH) {
      out.space(i);
      i = skipLineComment(text, i);
      continue;
    }
    if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
      out.space(i);
      i = skipBlockComment(text, i);
      if (i < 0) return null;
      continue;
    }
    if (c === SEMICOLON) {
      if (segmentHasToken) statements++;
      segmentHasToken = false;
      out.keep(i);
      i++;
      continue;
    }
    if (c === QUESTION || c === BACKSLASH || c < 32 || c === 127) return null;
    segmentHasToken = true;
    const next = text.charCodeAt(i + 1);

    if (c === QUOTE) {
      const end = endOfQuoted(text, i, "'");
      if (end < 0 || quoteFollows(text, end)) return null;
      out.replace(i, "'?'");
      i = end;
      continue;
    }

    if (c === DQUOTE) {
      const end = endOfQuoted(text, i, '"');
      if (end < 0) return null;
      out.keep(i);
      i = end;
      continue;
    }

    if (isDigit(c) || (c === DOT && isDigit(next))) {
      const number = scanNumber(text, i);
      if (number === null) return null;
      if (number.token === undefined) out.keep(i);
      else out.replace(i, number.token);
      i = number.end;
      continue;
    }

    if (c === DOLLAR) {
      if (isDigit(next)) {
        // A parameter placeholder such as $1: kept, it is not a literal.
        let j = i + 1;
        while (j < n && isDigit(text.charCodeAt(j))) j++;
        if (j < n && isIdentCont(text.charCodeAt(j))) return null;
        out.keep(i);
        i = j;
        continue;
      }
      let j = i + 1;
      if (j < n && text.charCodeAt(j) !== DOLLAR) {
        if (!isIdentStart(text.charCodeAt(j))) return null;
        while (j < n) {
          const t = text.charCodeAt(j);
          if (!(isIdentStart(t) || isDigit(t))) break;
          j++;
        }
      }
      if (text.charCodeAt(j) !== DOLLAR) return null;
      const delimiter = text.slice(i, j + 1);
      const close = text.indexOf(delimiter, j + 1);
      if (close < 0) return null;
      out.replace(i, "'?'");
      i = close + delimiter.length;
      continue;
    }

    if (isIdentStart(c)) {
      if (next === QUOTE) {
        if (c === 69 || c === 101) {
          // E'...': backslash escapes.
          const end = scanEscapeString(text, i + 1);
          if (end === null || quoteFollows(text, end.end)) return null;
          if (end.risky) out.keep(i);
          else out.replace(i, "'?'");
          i = end.end;
          continue;
        }
        if (c === 66 || c === 98 || c === 88 || c === 120) {
          // B'...' and X'...': no escapes at all, not even doubled quotes.
          const close = text.indexOf("'", i + 2);
          if (close < 0 || text.charCodeAt(close + 1) === QUOTE || quoteFollows(text, close + 1)) return null;
          out.replace(i, `${text[i]}'?'`);
          i = close + 1;
          continue;
        }
      }
      if ((c === 85 || c === 117) && next === AMPERSAND) {
        const q = text.charCodeAt(i + 2);
        if (q === QUOTE || q === DQUOTE) {
          // U&'...' / U&"...": the content is decoded by the parser and may be invalid; keep it.
          const end = endOfQuoted(text, i + 2, q === QUOTE ? "'" : '"');
          if (end < 0 || (q === QUOTE && quoteFollows(text, end))) return null;
          out.keep(i);
          i = end;
          continue;
        }
      }
      let j = i + 1;
      while (j < n && isIdentCont(text.charCodeAt(j))) j++;
      // The character after UESCAPE decides how the Unicode string before it decodes, and
      // PostgreSQL rejects a comment around UESCAPE: such texts are left to the exact cache.
      if (j - i === 7 && text.slice(i, j).toLowerCase() === "uescape") return null;
      out.keep(i);
      i = j;
      continue;
    }

    // Operator and punctuation characters: adjacency is preserved by the space handling, so
    // `a+-b` and `a+ -b` stay distinct just as they lex differently.
    out.keep(i);
    i++;
  }
  if (segmentHasToken) statements++;
  return { key: out.finish(), statements };
}

/**
 * End of a run of decimal digits starting at `i`, negated when it contains underscores
 * (`1_000`), which are kept as written.
 */
function scanDigits(text: string, i: number): number {
  const n = text.length;
  let underscore = false;
  let j = i;
  while (j < n) {
    const t = text.charCodeAt(j);
    if (isDigit(t)) {
      j++;
    } else if (t === UNDERSCORE && isDigit(text.charCodeAt(j + 1))) {
      underscore = true;
      j += 2;
    } else {
      break;
    }
  }
  return underscore ? -j : j;
}

/** Scans a number; `token` is its placeholder, or undefined when it is kept as written. */
function scanNumber(text: string, start: number): { token: string | undefined; end: number } | null {
  const n = text.length;
  let i = start;
  const c = text.charCodeAt(i);
  const next = text.charCodeAt(i + 1);
  if (
    c === 48 &&
    (next === 120 || next === 88 || next === 111 || next === 79 || next === 98 || next === 66)
  ) {
    // 0x.., 0o.., 0b..: rare, kept verbatim.
    i += 2;
    while (i < n) {
      const t = text.charCodeAt(i);
      if (!(isDigit(t) || isLetter(t) || t === UNDERSCORE)) break;
      i++;
    }
    if (i < n && (isIdentCont(text.charCodeAt(i)) || text.charCodeAt(i) === DOT)) return null;
    return { token: undefined, end: i };
  }
  let isFloat = false;
  let verbatim = false;
  let end = scanDigits(text, i);
  if (end < 0) {
    verbatim = true;
    end = -end;
  }
  i = end;
  if (text.charCodeAt(i) === DOT && text.charCodeAt(i + 1) !== DOT) {
    isFloat = true;
    end = scanDigits(text, i + 1);
    verbatim ||= end < 0;
    i = Math.abs(end);
  }
  const e = text.charCodeAt(i);
  if (e === 69 || e === 101) {
    const s = text.charCodeAt(i + 1);
    if (isDigit(s)) {
      i += 1;
    } else if ((s === 43 || s === DASH) && isDigit(text.charCodeAt(i + 2))) {
      i += 2;
    } else {
      return null;
    }
    isFloat = true;
    end = scanDigits(text, i);
    verbatim ||= end < 0;
    i = Math.abs(end);
  }
  // Trailing junk ("1abc", "1.2.3", "1..") is an error or a rarity: leave it to the exact cache.
  if (i < n && (isIdentCont(text.charCodeAt(i)) || text.charCodeAt(i) === DOT)) return null;
  if (verbatim) return { token: undefined, end: i };
  return { token: !isFloat && fitsInt4(text.slice(start, i)) ? "?" : "?f", end: i };
}

/**
 * Scans an E'' string whose opening quote is at `open`. `risky` marks escapes whose value can
 * make the parse fail (octal, hex and Unicode escapes can produce invalid characters).
 */
function scanEscapeString(text: string, open: number): { end: number; risky: boolean } | null {
  const n = text.length;
  let risky = false;
  let j = open + 1;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) {
      if (j + 1 >= n) return null;
      const e = text.charCodeAt(j + 1);
      if ((e >= 48 && e <= 55) || e === 120 || e === 117 || e === 85) risky = true;
      j += 2;
    } else if (c === QUOTE) {
      if (text.charCodeAt(j + 1) === QUOTE) {
        j += 2;
      } else {
        return { end: j + 1, risky };
      }
    } else {
      j++;
    }
  }
  return null;
}
