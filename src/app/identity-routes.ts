import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Principal, SluiceError } from "../core/index.ts";
import {
  AgentTokenError,
  type AgentTokens,
  type BrowserLoginChecks,
  type CredentialVerifier,
  type IdpIdentity,
  type LoginService,
  type OidcProviderLogin,
  PendingLogins,
  type SamlProviderLogin,
  type ServiceAccounts,
  type SessionTokens,
} from "../identity/index.ts";
import { ADMIN_GROUP } from "./http-server.ts";
import { BodyError, bearerToken, jsonSender, readBody, type Send } from "./http-util.ts";

const LOGIN_COOKIE = "sluice_login";
/** Ties a SAML login's completion to the browser that started it (path /saml). */
const SAML_COOKIE = "sluice_saml";
/** Between the IdP's POST to /saml/acs and the browser's GET of /saml/complete. */
const SAML_HANDOFF_TTL_MS = 60_000;
const SESSION_COOKIE = "sluice_session";
const BROWSER_LOGIN_TTL_MS = 10 * 60_000;
const MAX_BODY_BYTES = 16 * 1024;
const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
const SUBJECT_TOKEN_TYPES: ReadonlySet<string> = new Set([
  ACCESS_TOKEN_TYPE,
  "urn:ietf:params:oauth:token-type:jwt",
]);

export interface IdentityRoutesOptions {
  readonly providers: ReadonlyMap<string, OidcProviderLogin>;
  /** SAML 2.0 IdPs (browser login only). */
  readonly samlProviders?: ReadonlyMap<string, SamlProviderLogin>;
  readonly logins: LoginService;
  readonly serviceAccounts: ServiceAccounts;
  readonly agentTokens: AgentTokens;
  readonly credentials: CredentialVerifier;
  /** The gateway's origin as browsers reach it (e.g. `https://sluice.example.com`). */
  readonly publicUrl: () => string;
  readonly sessionTtlSeconds: number;
  readonly log: (message: string) => void;
}

interface PendingBrowser {
  readonly provider: string;
  readonly checks: BrowserLoginChecks;
  /** Ties the callback to the browser that started the login (login CSRF). */
  readonly binding: string;
  readonly redirect: string;
}

interface PendingSaml {
  readonly provider: string;
  readonly binding: string;
  readonly redirect: string;
}

interface SamlHandoff {
  readonly pending: PendingSaml;
  readonly identity: IdpIdentity;
}

interface PendingDevice {
  readonly provider: string;
  readonly abort: AbortController;
  state: "pending" | "denied" | "expired";
  identity: IdpIdentity | undefined;
}

export interface IdentityRoutes {
  /** Handles the request when it is an identity route; false leaves it to the caller. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  close(): void;
}

/**
 * The login endpoints on the gateway's HTTP listener. Tokens travel only in bodies, headers and
 * cookies, never in URLs, and are never logged.
 *
 * - `GET /login` lists providers; `GET /login/<provider>?redirect=/path` starts a browser login
 *   (authorization code + PKCE, state and nonce; the redirect target must be a same-origin path);
 *   `GET /callback` completes it and sets the `sluice_session` cookie.
 * - For a SAML provider, `GET /login/<provider>` redirects with an AuthnRequest; the IdP POSTs
 *   its response to `POST /saml/acs`, which checks it and hands over (303, a one-time code) to
 *   `GET /saml/complete`, where the `sluice_saml` cookie (sent on that same-site navigation, not
 *   on the IdP's cross-site POST) ties it to the browser that started; `GET /saml/<provider>/metadata`
 *   is the gateway's SP metadata.
 * - `POST /login/device` starts a device login for the CLI; `POST /login/device/token` polls it.
 * - `POST /token/refresh` rotates a refresh token (body or cookie); `POST /logout` ends the session.
 * - `POST /token/api-key` exchanges a service account's API key (bearer) for a short-lived token.
 * - `POST /token/exchange` (RFC 8693 style) mints a token for an agent acting for the logged-in
 *   person whose access token is the `subject_token`.
 * - `GET /whoami` describes the bearer token's principal, or the browser session's.
 * - `POST /admin/sessions/revoke` (`sluice-admins`) ends any session by id.
 */
export function createIdentityRoutes(options: IdentityRoutesOptions): IdentityRoutes {
  const browser = new PendingLogins<PendingBrowser>();
  const samlPending = new PendingLogins<PendingSaml>();
  const samlHandoffs = new PendingLogins<SamlHandoff>();
  const saml = options.samlProviders ?? new Map<string, SamlProviderLogin>();
  const devices = new PendingLogins<PendingDevice>({ onDrop: (device) => device.abort.abort() });
  const secure = () => options.publicUrl().startsWith("https:");

  const cookie = (name: string, value: string, maxAge: number, path: string): string =>
    `${name}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure() ? "; Secure" : ""}`;

  const tokensBody = (tokens: SessionTokens) => ({
    access_token: tokens.accessToken,
    token_type: "Bearer",
    expires_in: tokens.expiresIn,
    refresh_token: tokens.refreshToken,
    session_expires_at: tokens.sessionExpiresAt,
    user: tokens.principal.user,
    groups: tokens.principal.groups,
  });

  async function route(
    req: IncomingMessage,
    url: URL,
    send: Send,
    sendXml: (xml: string) => void,
  ): Promise<void> {
    const path = url.pathname;
    if (path === "/login" && req.method === "GET") {
      return send(200, { providers: [...options.providers.keys(), ...saml.keys()] });
    }
    if (path === "/login/device" && req.method === "POST") {
      const body = await readBody(req, MAX_BODY_BYTES);
      return startDevice(body, send);
    }
    if (path === "/login/device/token" && req.method === "POST") {
      const body = await readBody(req, MAX_BODY_BYTES);
      return pollDevice(body, send);
    }
    if (path.startsWith("/login/") && req.method === "GET") {
      const name = decodeURIComponent(path.slice("/login/".length));
      if (saml.has(name)) return startSaml(name, url, send);
      return startBrowser(name, url, send);
    }
    if (path === "/saml/acs" && req.method === "POST") {
      const body = await readBody(req, MAX_BODY_BYTES);
      return samlAcs(body, send);
    }
    if (path === "/saml/complete" && req.method === "GET") return samlComplete(req, url, send);
    if (path.startsWith("/saml/") && path.endsWith("/metadata") && req.method === "GET") {
      const provider = saml.get(decodeURIComponent(path.slice("/saml/".length, -"/metadata".length)));
      if (provider === undefined) return send(404, { error: "unknown identity provider" });
      return sendXml(provider.serviceProviderMetadata(options.publicUrl()));
    }
    if (path === "/callback" && req.method === "GET") return callback(req, url, send);
    if (path === "/token/refresh" && req.method === "POST") {
      const body = await readBody(req, MAX_BODY_BYTES);
      const fromCookie = cookies(req)[SESSION_COOKIE];
      const refreshToken = stringField(body, "refresh_token") ?? fromCookie;
      if (refreshToken === undefined) return send(400, { error: "invalid_request" });
      try {
        const tokens = await options.logins.refresh(refreshToken);
        const headers =
          fromCookie !== undefined && stringField(body, "refresh_token") === undefined
            ? { "set-cookie": cookie(SESSION_COOKIE, tokens.refreshToken, options.sessionTtlSeconds, "/") }
            : undefined;
        return send(200, tokensBody(tokens), headers);
      } catch (error) {
        return send(401, { error: "invalid_grant", error_description: exposed(error, "refresh refused") });
      }
    }
    if (path === "/token/api-key" && req.method === "POST") {
      const body = await readBody(req, MAX_BODY_BYTES);
      const apiKey = bearerToken(req) ?? stringField(body, "api_key");
      if (apiKey === undefined) return send(401, { error: "an API key is required" }, challenge());
      try {
        const exchanged = await options.serviceAccounts.exchange(apiKey);
        return send(200, {
          access_token: exchanged.accessToken,
          token_type: "Bearer",
          expires_in: exchanged.expiresIn,
          user: exchanged.record.account,
          groups: exchanged.record.groups,
        });
      } catch (error) {
        return send(401, { error: exposed(error, "invalid API key") }, challenge());
      }
    }
    if (path === "/token/exchange" && req.method === "POST") {
      const body = await readBody(req, MAX_BODY_BYTES);
      return exchangeForAgent(req, body, send);
    }
    if (path === "/logout" && req.method === "POST") {
      const body = await readBody(req, MAX_BODY_BYTES);
      const refreshToken = stringField(body, "refresh_token") ?? cookies(req)[SESSION_COOKIE];
      const ended =
        refreshToken === undefined ? false : await options.logins.logout(refreshToken).catch(() => false);
      return send(200, { ok: true, ended }, { "set-cookie": cookie(SESSION_COOKIE, "", 0, "/") });
    }
    if (path === "/whoami" && req.method === "GET") return whoami(req, send);
    if (path === "/admin/sessions/revoke" && req.method === "POST") {
      const body = await readBody(req, MAX_BODY_BYTES);
      return adminRevoke(req, body, send);
    }
    return send(405, { error: "method not allowed" });
  }

  async function startBrowser(name: string, url: URL, send: Send): Promise<void> {
    const provider = options.providers.get(name);
    if (provider === undefined) return send(404, { error: "unknown identity provider" });
    const redirect = safeRedirect(url.searchParams.get("redirect"), options.publicUrl());
    if (redirect === undefined) return send(400, { error: "redirect must be a path on this gateway" });
    let begun: Awaited<ReturnType<OidcProviderLogin["beginBrowser"]>>;
    try {
      begun = await provider.beginBrowser(`${options.publicUrl()}/callback`);
    } catch (error) {
      options.log(`login: identity provider ${name} unavailable: ${describe(error)}`);
      return send(503, { error: "the identity provider is unavailable" });
    }
    const binding = randomToken();
    browser.put(
      { provider: name, checks: begun.checks, binding, redirect },
      BROWSER_LOGIN_TTL_MS,
      begun.checks.state,
    );
    send(
      302,
      { redirect: begun.url },
      {
        location: begun.url,
        "set-cookie": cookie(LOGIN_COOKIE, binding, BROWSER_LOGIN_TTL_MS / 1000, "/callback"),
      },
    );
  }

  async function callback(req: IncomingMessage, url: URL, send: Send): Promise<void> {
    const state = url.searchParams.get("state") ?? "";
    const pending = state === "" ? undefined : browser.take(state);
    const clear = cookie(LOGIN_COOKIE, "", 0, "/callback");
    if (pending === undefined)
      return send(400, { error: "unknown or expired login" }, { "set-cookie": clear });
    const binding = cookies(req)[LOGIN_COOKIE] ?? "";
    if (!sameText(binding, pending.binding)) {
      return send(400, { error: "this login was started in another browser" }, { "set-cookie": clear });
    }
    if (url.searchParams.has("error")) {
      return send(401, { error: "login refused by the identity provider" }, { "set-cookie": clear });
    }
    const provider = options.providers.get(pending.provider);
    if (provider === undefined) return send(400, { error: "unknown identity provider" });
    let tokens: SessionTokens;
    try {
      const callbackUrl = new URL(`${url.pathname}${url.search}`, options.publicUrl());
      const identity = await provider.completeBrowser(callbackUrl, pending.checks);
      tokens = await options.logins.start(pending.provider, identity);
    } catch (error) {
      options.log(`login: browser login at ${pending.provider} failed: ${describe(error)}`);
      return send(401, { error: "login failed" }, { "set-cookie": clear });
    }
    send(
      303,
      { user: tokens.principal.user },
      {
        location: pending.redirect,
        "set-cookie": [clear, cookie(SESSION_COOKIE, tokens.refreshToken, options.sessionTtlSeconds, "/")],
      },
    );
  }

  async function startSaml(name: string, url: URL, send: Send): Promise<void> {
    const provider = saml.get(name)!;
    const redirect = safeRedirect(url.searchParams.get("redirect"), options.publicUrl());
    if (redirect === undefined) return send(400, { error: "redirect must be a path on this gateway" });
    const binding = randomToken();
    const relayState = samlPending.put({ provider: name, binding, redirect }, BROWSER_LOGIN_TTL_MS);
    let location: string;
    try {
      location = await provider.beginBrowser(options.publicUrl(), relayState);
    } catch (error) {
      samlPending.delete(relayState);
      options.log(`login: SAML provider ${name}: ${describe(error)}`);
      return send(503, { error: "the identity provider is unavailable" });
    }
    send(
      302,
      { redirect: location },
      { location, "set-cookie": cookie(SAML_COOKIE, binding, BROWSER_LOGIN_TTL_MS / 1000, "/saml") },
    );
  }

  /** The IdP's POST: the response is checked here; the browser binding at /saml/complete. */
  async function samlAcs(body: Record<string, unknown>, send: Send): Promise<void> {
    const relayState = stringField(body, "RelayState");
    const samlResponse = stringField(body, "SAMLResponse");
    const pending = relayState === undefined ? undefined : samlPending.take(relayState);
    if (pending === undefined || samlResponse === undefined) {
      return send(400, { error: "unknown or expired login" });
    }
    const provider = saml.get(pending.provider);
    if (provider === undefined) return send(400, { error: "unknown identity provider" });
    let identity: IdpIdentity;
    try {
      identity = await provider.completeBrowser(options.publicUrl(), samlResponse);
    } catch (error) {
      options.log(`login: SAML login at ${pending.provider} failed: ${describe(error)}`);
      return send(401, { error: "login failed" });
    }
    const code = samlHandoffs.put({ pending, identity }, SAML_HANDOFF_TTL_MS);
    send(303, {}, { location: `/saml/complete?code=${encodeURIComponent(code)}` });
  }

  async function samlComplete(req: IncomingMessage, url: URL, send: Send): Promise<void> {
    const code = url.searchParams.get("code") ?? "";
    const handoff = code === "" ? undefined : samlHandoffs.take(code);
    const clear = cookie(SAML_COOKIE, "", 0, "/saml");
    if (handoff === undefined)
      return send(400, { error: "unknown or expired login" }, { "set-cookie": clear });
    if (!sameText(cookies(req)[SAML_COOKIE] ?? "", handoff.pending.binding)) {
      return send(400, { error: "this login was started in another browser" }, { "set-cookie": clear });
    }
    let tokens: SessionTokens;
    try {
      tokens = await options.logins.start(handoff.pending.provider, handoff.identity);
    } catch (error) {
      options.log(`login: could not start a session: ${describe(error)}`);
      return send(500, { error: "server_error" }, { "set-cookie": clear });
    }
    send(
      303,
      { user: tokens.principal.user },
      {
        location: handoff.pending.redirect,
        "set-cookie": [clear, cookie(SESSION_COOKIE, tokens.refreshToken, options.sessionTtlSeconds, "/")],
      },
    );
  }

  async function startDevice(body: Record<string, unknown>, send: Send): Promise<void> {
    const name = stringField(body, "provider") ?? onlyProvider();
    const provider = name === undefined ? undefined : options.providers.get(name);
    if (name === undefined || provider === undefined) {
      return send(400, { error: "invalid_request", error_description: "unknown identity provider" });
    }
    const abort = new AbortController();
    let login: Awaited<ReturnType<OidcProviderLogin["beginDevice"]>>;
    try {
      login = await provider.beginDevice(abort.signal);
    } catch (error) {
      options.log(`login: identity provider ${name} unavailable: ${describe(error)}`);
      return send(503, {
        error: "temporarily_unavailable",
        error_description: "the identity provider is unavailable",
      });
    }
    const pending: PendingDevice = { provider: name, abort, state: "pending", identity: undefined };
    const deviceCode = devices.put(pending, login.expiresIn * 1000);
    login.result.then(
      (identity) => {
        pending.identity = identity;
      },
      (error: unknown) => {
        const code = (error as { error?: unknown }).error;
        pending.state = code === "expired_token" ? "expired" : "denied";
        if (!abort.signal.aborted) options.log(`login: device login at ${name} ended: ${describe(error)}`);
      },
    );
    send(200, {
      device_code: deviceCode,
      user_code: login.userCode,
      verification_uri: login.verificationUri,
      ...(login.verificationUriComplete === undefined
        ? {}
        : { verification_uri_complete: login.verificationUriComplete }),
      expires_in: login.expiresIn,
      interval: login.interval,
      provider: name,
    });
  }

  async function pollDevice(body: Record<string, unknown>, send: Send): Promise<void> {
    const deviceCode = stringField(body, "device_code");
    const pending = deviceCode === undefined ? undefined : devices.peek(deviceCode);
    if (deviceCode === undefined || pending === undefined) return send(400, { error: "expired_token" });
    if (pending.identity === undefined) {
      if (pending.state === "pending") return send(400, { error: "authorization_pending" });
      devices.delete(deviceCode);
      return send(400, { error: pending.state === "expired" ? "expired_token" : "access_denied" });
    }
    const identity = pending.identity;
    devices.take(deviceCode);
    try {
      const tokens = await options.logins.start(pending.provider, identity);
      send(200, tokensBody(tokens));
    } catch (error) {
      options.log(`login: could not start a session: ${describe(error)}`);
      send(500, { error: "server_error" });
    }
  }

  async function whoami(req: IncomingMessage, send: Send): Promise<void> {
    const bearer = bearerToken(req);
    if (bearer !== undefined) {
      let principal: Principal;
      try {
        principal = await options.credentials.verify(bearer);
      } catch (error) {
        return send(401, { error: exposed(error, "invalid token") }, challenge());
      }
      return send(200, describePrincipal(principal));
    }
    const session = cookies(req)[SESSION_COOKIE];
    if (session === undefined) return send(401, { error: "not logged in" }, challenge());
    try {
      const info = await options.logins.describe(session);
      return send(200, {
        user: info.user,
        kind: info.kind,
        groups: info.groups,
        session: { id: info.sessionId, provider: info.provider, expires_at: info.sessionExpiresAt },
      });
    } catch (error) {
      return send(401, { error: exposed(error, "not logged in") }, challenge());
    }
  }

  async function exchangeForAgent(
    req: IncomingMessage,
    body: Record<string, unknown>,
    send: Send,
  ): Promise<void> {
    const grantType = stringField(body, "grant_type");
    if (grantType !== undefined && grantType !== TOKEN_EXCHANGE_GRANT) {
      return send(400, { error: "unsupported_grant_type" });
    }
    const subjectType = stringField(body, "subject_token_type");
    if (subjectType !== undefined && !SUBJECT_TOKEN_TYPES.has(subjectType)) {
      return send(400, { error: "invalid_request", error_description: "unsupported subject_token_type" });
    }
    const subjectToken = stringField(body, "subject_token") ?? bearerToken(req);
    if (subjectToken === undefined) {
      return send(400, { error: "invalid_request", error_description: "subject_token is required" });
    }
    const actor = stringField(body, "actor");
    if (actor === undefined) {
      return send(400, { error: "invalid_request", error_description: "actor is required" });
    }
    const groups = groupList(body.groups ?? body.scope);
    if (groups === null) {
      return send(400, { error: "invalid_request", error_description: "groups: a list of group names" });
    }
    const ttl = body.expires_in === undefined ? undefined : Number(body.expires_in);
    let subject: Principal;
    try {
      subject = await options.credentials.verify(subjectToken);
    } catch (error) {
      return send(401, {
        error: "invalid_grant",
        error_description: exposed(error, "invalid subject token"),
      });
    }
    try {
      const minted = await options.agentTokens.exchange({
        subject,
        actor,
        ...(groups === undefined ? {} : { groups }),
        ...(ttl === undefined ? {} : { ttlSeconds: ttl }),
      });
      return send(200, {
        access_token: minted.accessToken,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: "Bearer",
        expires_in: minted.expiresIn,
        ...describePrincipal(minted.principal),
      });
    } catch (error) {
      if (error instanceof AgentTokenError) {
        return send(400, { error: error.oauthError, error_description: error.message });
      }
      throw error;
    }
  }

  async function adminRevoke(req: IncomingMessage, body: Record<string, unknown>, send: Send): Promise<void> {
    const bearer = bearerToken(req);
    if (bearer === undefined) return send(401, { error: "a gateway token is required" }, challenge());
    let principal: Principal;
    try {
      principal = await options.credentials.verify(bearer);
    } catch (error) {
      return send(401, { error: exposed(error, "invalid token") }, challenge());
    }
    if (!principal.groups.includes(ADMIN_GROUP)) {
      return send(403, { error: `only members of ${ADMIN_GROUP} may revoke sessions` });
    }
    const sessionId = stringField(body, "session_id");
    if (sessionId === undefined) return send(400, { error: "session_id is required" });
    const revoked = await options.logins.revoke(sessionId, `revoked by ${principal.user}`);
    send(revoked ? 200 : 404, { ok: revoked });
  }

  function onlyProvider(): string | undefined {
    return options.providers.size === 1 ? [...options.providers.keys()][0] : undefined;
  }

  return {
    handle(req, res, url) {
      const path = url.pathname;
      const ours =
        path === "/login" ||
        path.startsWith("/login/") ||
        path === "/callback" ||
        (path.startsWith("/saml/") && saml.size > 0) ||
        path === "/token/refresh" ||
        path === "/token/api-key" ||
        path === "/token/exchange" ||
        path === "/logout" ||
        path === "/whoami" ||
        path === "/admin/sessions/revoke";
      if (!ours) return false;
      const sendXml = (xml: string) => {
        if (res.headersSent) return;
        res.writeHead(200, { "content-type": "application/samlmetadata+xml", "cache-control": "no-store" });
        res.end(xml);
      };
      const send = jsonSender(res);
      route(req, url, send, sendXml).catch((error: unknown) => {
        if (error instanceof BodyError) return send(error.status, { error: error.message });
        options.log(`http: ${path}: ${describe(error)}`);
        send(500, { error: "internal error" });
      });
      return true;
    },
    close() {
      browser.clear();
      samlPending.clear();
      samlHandoffs.clear();
      devices.clear();
    },
  };
}

/**
 * The redirect target after a browser login: a path on this gateway, never another origin.
 * Refuses `//host`, `/\host`, schemes, and anything whose resolution leaves the origin.
 */
export function safeRedirect(target: string | null, origin: string): string | undefined {
  if (target === null || target === "") return "/";
  if (!target.startsWith("/") || target.startsWith("//") || target.startsWith("/\\")) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(target)) return undefined;
  let resolved: URL;
  try {
    resolved = new URL(target, origin);
  } catch {
    return undefined;
  }
  if (resolved.origin !== new URL(origin).origin) return undefined;
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}

/** Groups as a JSON list, or one string separated by spaces or commas; null when malformed. */
function groupList(value: unknown): string[] | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value) && value.length <= 256 && value.every((item) => typeof item === "string")) {
    return value.filter(Boolean);
  }
  return null;
}

function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function cookies(req: IncomingMessage): Record<string, string> {
  const result: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    if (!Object.hasOwn(result, name)) result[name] = part.slice(index + 1).trim();
  }
  return result;
}

function challenge(): Record<string, string> {
  return { "www-authenticate": 'Bearer realm="sluice"' };
}

function describePrincipal(principal: Principal) {
  return {
    user: principal.user,
    kind: principal.kind,
    groups: principal.groups,
    ...(principal.onBehalfOf === undefined
      ? {}
      : { on_behalf_of: { user: principal.onBehalfOf.user, groups: principal.onBehalfOf.groups } }),
    ...(principal.expiresAt === undefined ? {} : { expires_at: principal.expiresAt }),
    ...(principal.loginSessionId === undefined ? {} : { session: { id: principal.loginSessionId } }),
  };
}

function exposed(error: unknown, fallback: string): string {
  return error instanceof SluiceError && error.expose ? error.message : fallback;
}

/** An error for the log: its class and message, which never carry a token here. */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown; error?: unknown }).error ?? (error as { code?: unknown }).code;
    return `${error.name}${typeof code === "string" ? ` ${code}` : ""}: ${error.message}`;
  }
  return String(error);
}

function randomToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
