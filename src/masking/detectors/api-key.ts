import { at, isAlnum, isBase64UrlChar, isDigit, isLower, isUpper, isWordChar } from "./chars.ts";
import { type Detector, NO_SPANS, type Span, withSpan } from "./types.ts";

interface TokenFormat {
  readonly prefix: string;
  /** Characters allowed after the prefix. */
  readonly body: (c: number) => boolean;
  /** Body length: at least `min`; exactly `min` when `exact`. */
  readonly min: number;
  readonly exact?: boolean;
}

const upperOrDigit = (c: number): boolean => isUpper(c) || isDigit(c);

/** Vendor formats with a fixed prefix; each matches a whole token (a run of `[A-Za-z0-9_-]`). */
export const TOKEN_FORMATS: readonly TokenFormat[] = [
  // Stripe secret and restricted keys.
  { prefix: "sk_live_", body: isAlnum, min: 10 },
  { prefix: "sk_test_", body: isAlnum, min: 10 },
  { prefix: "rk_live_", body: isAlnum, min: 10 },
  { prefix: "rk_test_", body: isAlnum, min: 10 },
  // AWS access key ids (long-lived and temporary).
  { prefix: "AKIA", body: upperOrDigit, min: 16, exact: true },
  { prefix: "ASIA", body: upperOrDigit, min: 16, exact: true },
  // GitHub tokens.
  { prefix: "ghp_", body: isAlnum, min: 36 },
  { prefix: "gho_", body: isAlnum, min: 36 },
  { prefix: "ghu_", body: isAlnum, min: 36 },
  { prefix: "ghs_", body: isAlnum, min: 36 },
  { prefix: "ghr_", body: isAlnum, min: 36 },
  { prefix: "github_pat_", body: isWordChar, min: 22 },
  // Slack tokens.
  ...["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"].map((prefix) => ({
    prefix,
    body: (c: number) => isAlnum(c) || c === 45,
    min: 10,
  })),
  // Google API keys.
  { prefix: "AIza", body: isBase64UrlChar, min: 35, exact: true },
  // GitLab personal access tokens.
  { prefix: "glpat-", body: isBase64UrlChar, min: 20 },
  // OpenAI-style secret keys (`sk-…`, `sk-proj-…`).
  { prefix: "sk-", body: isBase64UrlChar, min: 32 },
];

function formatMatches(text: string, start: number, end: number, format: TokenFormat): boolean {
  if (!text.startsWith(format.prefix, start)) return false;
  const bodyStart = start + format.prefix.length;
  const length = end - bodyStart;
  if (format.exact ? length !== format.min : length < format.min) return false;
  for (let i = bodyStart; i < end; i++) if (!format.body(text.charCodeAt(i))) return false;
  return true;
}

/** Vendor tokens: each run of token characters is tested against the formats once. */
function findTokens(text: string, spans: Span[] | undefined): Span[] | undefined {
  let i = 0;
  while (i < text.length) {
    if (!isBase64UrlChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    while (i < text.length && isBase64UrlChar(text.charCodeAt(i))) i++;
    if (i - start < 14) continue;
    for (const format of TOKEN_FORMATS) {
      if (formatMatches(text, start, i, format)) {
        spans = withSpan(spans, start, i);
        break;
      }
    }
  }
  return spans;
}

const PEM_BEGIN = "-----BEGIN ";
const PEM_DASHES = "-----";

/** `-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----` at `i`; returns the header end or -1. */
function privateKeyHeaderEnd(text: string, i: number): number {
  const labelStart = i + PEM_BEGIN.length;
  let k = labelStart;
  while (k - labelStart <= 40 && (isUpper(at(text, k)) || isDigit(at(text, k)) || at(text, k) === 32)) k++;
  const label = text.slice(labelStart, k);
  if (!label.endsWith("PRIVATE KEY") && !label.endsWith("PRIVATE KEY BLOCK")) return -1;
  return text.startsWith(PEM_DASHES, k) ? k + PEM_DASHES.length : -1;
}

/** PEM private keys, from the BEGIN line to the END line; without an END line, to the end of the text. */
function findPrivateKeys(text: string, spans: Span[] | undefined): Span[] | undefined {
  for (let i = text.indexOf(PEM_BEGIN); i !== -1; i = text.indexOf(PEM_BEGIN, i + 1)) {
    const headerEnd = privateKeyHeaderEnd(text, i);
    if (headerEnd === -1) continue;
    let end = text.length;
    const footer = text.indexOf("-----END ", headerEnd);
    if (footer !== -1) {
      const close = text.indexOf(PEM_DASHES, footer + 9);
      if (close !== -1) end = close + PEM_DASHES.length;
    }
    spans = withSpan(spans, i, end);
    if (end === text.length) break;
    i = end - 1;
  }
  return spans;
}

/** RFC 6750 token characters. */
function isToken68Char(c: number): boolean {
  return isAlnum(c) || c === 45 || c === 46 || c === 95 || c === 126 || c === 43 || c === 47 || c === 61;
}

const BEARER_TAILS = ["earer", "EARER"] as const;

/** `Bearer <token>` (also `bearer`, `BEARER`): the token is masked, the word stays. */
function findBearerTokens(text: string, spans: Span[] | undefined): Span[] | undefined {
  for (const word of BEARER_TAILS) {
    for (let i = text.indexOf(word); i !== -1; i = text.indexOf(word, i + 1)) {
      const b = at(text, i - 1);
      if ((b !== 66 && b !== 98) || isWordChar(at(text, i - 2))) continue;
      let start = i + word.length;
      if (at(text, start) !== 32) continue;
      while (at(text, start) === 32) start++;
      let end = start;
      let digitOrSymbol = false;
      let innerUpper = false;
      let lower = false;
      while (end < text.length && isToken68Char(text.charCodeAt(end))) {
        const c = text.charCodeAt(end);
        if (!isAlnum(c) || isDigit(c)) digitOrSymbol = true;
        else if (isUpper(c) && end > start) innerUpper = true;
        else if (isLower(c)) lower = true;
        end++;
      }
      if (end - start < 12 || !(digitOrSymbol || (innerUpper && lower))) continue;
      spans = withSpan(spans, start, end);
      i = end - 1;
    }
  }
  return spans;
}

/**
 * Secrets with recognisable formats: Stripe (`sk_live_`, `sk_test_`, `rk_…`), AWS access key ids
 * (`AKIA…`/`ASIA…` + 16), GitHub (`ghp_` and friends, `github_pat_`), Slack (`xoxb-` …), Google
 * (`AIza` + 35), GitLab (`glpat-`), OpenAI-style `sk-` keys, PEM private key blocks, and the token
 * after `Bearer` (at least 12 token characters with a digit, a symbol or inner capitals, so
 * "bearer instruments" is prose). A prefix inside a longer word (`mysk_live_…`) is not matched.
 */
export const apiKeyDetector: Detector = {
  name: "api_key",
  find(text: string): readonly Span[] {
    let spans = findTokens(text, undefined);
    if (text.indexOf(PEM_BEGIN) !== -1) spans = findPrivateKeys(text, spans);
    spans = findBearerTokens(text, spans);
    return spans ?? NO_SPANS;
  },
};
