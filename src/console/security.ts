import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * The console's Content-Security-Policy: nothing inline, nothing from another origin. Scripts and
 * styles are files served by the gateway; `wasm-unsafe-eval` lets the bundled terminal player
 * compile its WebAssembly terminal (it allows no JavaScript `eval`).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers every console response carries (pages, files, JSON, events). */
export function securityHeaders(secure: boolean): Record<string, string> {
  return {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), clipboard-write=(self)",
    ...(secure ? { "strict-transport-security": "max-age=31536000" } : {}),
  };
}

/** The double-submit CSRF cookie (readable by the console's own script) and its header. */
export const CSRF_COOKIE = "sluice_csrf";
export const CSRF_HEADER = "x-sluice-csrf";

export function parseCookies(req: IncomingMessage): Record<string, string> {
  const result: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    if (!Object.hasOwn(result, name)) result[name] = part.slice(index + 1).trim();
  }
  return result;
}

/** Methods that change nothing: no CSRF check. */
export function isSafeMethod(method: string | undefined): boolean {
  return method === "GET" || method === "HEAD";
}

/**
 * A state-changing request made with the session cookie must come from a console page of this
 * origin: its `Origin` (or, without one, its `Referer`) is the gateway's, and the `x-sluice-csrf`
 * header repeats the `sluice_csrf` cookie (double submit). The session cookie is also
 * SameSite=Lax, so other sites' forms do not carry it. Returns the refusal, or undefined.
 */
export function csrfRefusal(req: IncomingMessage, publicOrigin: string): string | undefined {
  const origin = req.headers.origin ?? originOfReferer(req.headers.referer);
  if (origin === undefined || origin !== publicOrigin) return "cross-site request refused (origin)";
  const cookie = parseCookies(req)[CSRF_COOKIE];
  const header = req.headers[CSRF_HEADER];
  if (cookie === undefined || cookie.length < 16 || typeof header !== "string" || header !== cookie) {
    return "cross-site request refused (CSRF token missing or wrong)";
  }
  return undefined;
}

function originOfReferer(referer: string | undefined): string | undefined {
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

export function csrfCookie(value: string, secure: boolean): string {
  // Not HttpOnly: the console's script reads it to send it back in the header.
  return `${CSRF_COOKIE}=${value}; Path=/; SameSite=Strict${secure ? "; Secure" : ""}`;
}

export function randomToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
}

/** Writes a JSON answer with the console's headers (never cached). */
export function sendJson(
  res: ServerResponse,
  secure: boolean,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    ...securityHeaders(secure),
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    ...headers,
  });
  res.end(JSON.stringify(body));
}
