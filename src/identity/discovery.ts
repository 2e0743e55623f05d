import { isAllowedIdpUrl } from "./loopback.ts";

export interface DiscoveryDocument {
  /** Exactly as the issuer spells it (tokens' `iss` must equal it). */
  readonly issuer: string;
  readonly jwks_uri: string;
}

const MAX_DOCUMENT_BYTES = 256 * 1024;

/**
 * Reads `<issuer>/.well-known/openid-configuration`. Refuses redirects, documents naming another
 * issuer, and key URLs that are neither https nor loopback http. Errors never carry the body.
 */
export async function fetchDiscovery(issuer: string, timeoutMs: number): Promise<DiscoveryDocument> {
  const base = issuer.endsWith("/") ? issuer.slice(0, -1) : issuer;
  const url = new URL(`${base}/.well-known/openid-configuration`);
  if (!isAllowedIdpUrl(url)) throw new Error(`${issuer}: issuer must be https (http only on loopback)`);
  const response = await fetch(url, {
    redirect: "error",
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: "application/json" },
  });
  if (!response.ok) throw new Error(`${issuer}: discovery answered ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_DOCUMENT_BYTES) throw new Error(`${issuer}: discovery document too large`);
  const document = JSON.parse(text) as { issuer?: unknown; jwks_uri?: unknown };
  if (typeof document.issuer !== "string" || trimSlash(document.issuer) !== base) {
    throw new Error(`${issuer}: the discovery document names another issuer`);
  }
  if (typeof document.jwks_uri !== "string" || !isAllowedIdpUrl(new URL(document.jwks_uri))) {
    throw new Error(`${issuer}: jwks_uri must be https (http only on loopback)`);
  }
  return { issuer: document.issuer, jwks_uri: document.jwks_uri };
}

function trimSlash(text: string): string {
  return text.endsWith("/") ? text.slice(0, -1) : text;
}
