import { type DevIdp, type DevIdpClient, type DevIdpOptions, startDevIdp } from "../../src/identity/index.ts";

export type { DevIdp } from "../../src/identity/index.ts";

/** The gateway's client at the test IdP (browser and device logins). */
export const GATEWAY_CLIENT = { clientId: "sluice-gateway", clientSecret: "gateway-client-secret" } as const;
/** A machine client (client credentials) whose tokens carry the group `deployers`. */
export const CI_CLIENT = {
  clientId: "ci-bot",
  clientSecret: "ci-bot-secret",
  groups: ["deployers"],
} as const;

/**
 * Starts the built-in dev IdP on a free loopback port with the gateway client (whose redirect
 * URI is `<gatewayOrigin>/callback` when given) and the CI machine client. Quiet unless `log`.
 */
export async function startTestIdp(
  options: { gatewayOrigin?: string; log?: (message: string) => void } & Partial<DevIdpOptions> = {},
): Promise<DevIdp> {
  const clients: DevIdpClient[] = [
    {
      ...GATEWAY_CLIENT,
      ...(options.gatewayOrigin === undefined ? {} : { redirectUris: [`${options.gatewayOrigin}/callback`] }),
    },
    CI_CLIENT,
  ];
  return startDevIdp({ ...options, clients: options.clients ?? clients, log: options.log ?? (() => {}) });
}

/** A client-credentials access token (a JWT) from the IdP; `resource` picks its audience. */
export async function clientCredentialsToken(
  idp: DevIdp,
  client: { clientId: string; clientSecret: string } = CI_CLIENT,
  resource?: string,
): Promise<string> {
  const response = await fetch(`${idp.issuer}/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      ...(resource === undefined ? {} : { resource }),
    }),
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (body.access_token === undefined) throw new Error(`client credentials refused: ${body.error}`);
  return body.access_token;
}

/** A tiny cookie jar keyed by host (paths ignored): enough to walk the login redirects. */
export class CookieJar {
  readonly #cookies = new Map<string, Map<string, string>>();

  store(url: URL, response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = ""] = header.split(";");
      const index = pair.indexOf("=");
      if (index <= 0) continue;
      const jar = this.#cookies.get(url.host) ?? new Map<string, string>();
      const value = pair.slice(index + 1);
      if (value === "" || /max-age=0/i.test(header)) jar.delete(pair.slice(0, index));
      else jar.set(pair.slice(0, index), value);
      this.#cookies.set(url.host, jar);
    }
  }

  header(url: URL): string {
    return [...(this.#cookies.get(url.host) ?? new Map<string, string>())]
      .map(([name, value]) => `${name}=${value}`)
      .join("; ");
  }

  get(url: URL | string, name: string): string | undefined {
    return this.#cookies.get(new URL(url).host)?.get(name);
  }
}

export interface BrowseResult {
  /** The last response (not a redirect, or a redirect back to `stopAt`). */
  readonly response: Response;
  readonly url: URL;
  readonly body: string;
  /** Every URL visited, in order. */
  readonly visited: readonly string[];
}

/**
 * Walks a login as a browser would, without one: follows redirects by hand (keeping cookies),
 * signs in on the dev IdP's login form with `login`/`password`, and submits its device
 * confirmation form. Stops at the first page that is not a form it knows, or at a redirect to a
 * URL starting with `stopAt`.
 */
export async function browse(
  start: string,
  options: { login?: string; password?: string; jar?: CookieJar; stopAt?: string; maxSteps?: number } = {},
): Promise<BrowseResult> {
  const jar = options.jar ?? new CookieJar();
  const visited: string[] = [];
  let url = new URL(start);
  let init: RequestInit = {};
  for (let step = 0; step < (options.maxSteps ?? 20); step++) {
    visited.push(url.href);
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: { ...(init.headers as Record<string, string> | undefined), cookie: jar.header(url) },
    });
    jar.store(url, response);
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location !== null) {
      const next = new URL(location, url);
      if (options.stopAt !== undefined && next.href.startsWith(options.stopAt)) {
        return { response, url: next, body: await response.text(), visited };
      }
      url = next;
      init = {};
      continue;
    }
    const body = await response.text();
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(body);
    if (response.status !== 200 || form === null) return { response, url, body, visited };
    const fields = new URLSearchParams();
    for (const [tag] of form[2]!.matchAll(/<input\b[^>]*>/gi)) {
      const name = /\bname="([^"]+)"/.exec(tag)?.[1];
      if (name !== undefined) fields.set(name, decodeEntities(/\bvalue="([^"]*)"/.exec(tag)?.[1] ?? ""));
    }
    if (fields.has("login")) {
      if (options.login === undefined) return { response, url, body, visited };
      if (visited.filter((v) => v === url.href).length > 1) return { response, url, body, visited };
      fields.set("login", options.login);
      fields.set("password", options.password ?? "");
    }
    url = new URL(decodeEntities(form[1]!), url);
    init = {
      method: "POST",
      body: fields.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    };
  }
  throw new Error(`browse: too many steps: ${visited.join(" -> ")}`);
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)))
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">");
}
