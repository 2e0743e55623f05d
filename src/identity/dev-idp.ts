import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import Provider, { type Configuration, type KoaContextWithOIDC } from "oidc-provider";
import {
  DEV_IDP_GATEWAY_RESOURCE,
  DEV_IDP_USERS,
  DEV_IDP_WARNING,
  type DevIdpUser,
} from "./dev-idp-users.ts";
import { isLoopbackHost } from "./loopback.ts";

export interface DevIdpClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Redirect URIs for authorization code + PKCE (browser login). */
  readonly redirectUris?: readonly string[];
  /** Groups put in client-credentials tokens of this client (machines). */
  readonly groups?: readonly string[];
}

export interface DevIdpOptions {
  /** Loopback address only. Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  readonly users?: readonly DevIdpUser[];
  readonly clients: readonly DevIdpClient[];
  /**
   * The `aud` of client-credentials access tokens requested without a `resource` (or with the
   * resource `urn:sluice`). Another resource URI becomes the audience itself. Default `sluice`.
   */
  readonly audience?: string;
  /** Lifetime of access tokens in seconds. Default 600. */
  readonly accessTokenTtlSeconds?: number;
  /** Where the loud "not for production" banner goes. Default stderr. */
  readonly log?: (message: string) => void;
}

export interface DevIdp {
  /** The issuer URL (`http://127.0.0.1:<port>`). */
  readonly issuer: string;
  readonly users: readonly DevIdpUser[];
  /** Changes a user's groups (tests of group re-evaluation at refresh). */
  setGroups(login: string, groups: readonly string[]): void;
  /**
   * Signs arbitrary claims with the IdP's own key: tests use it to forge tokens the IdP could
   * have issued (expired, wrong audience, …).
   */
  sign(claims: JWTPayload, header?: { readonly kid?: string; readonly typ?: string }): Promise<string>;
  /** The kid of the signing key. */
  readonly kid: string;
  close(): Promise<void>;
}

/** Starts the development IdP. Refuses any address that is not loopback. */
export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopbackHost(host)) throw new Error(`the dev IdP listens on loopback only, not ${host}`);
  const log = options.log ?? ((message: string) => process.stderr.write(`sluice: ${message}\n`));
  const users = new Map((options.users ?? DEV_IDP_USERS).map((u) => [u.login, { ...u }]));
  const clientGroups = new Map(options.clients.map((c) => [c.clientId, c.groups ?? []]));
  const audience = options.audience ?? "sluice";
  const accessTokenTtl = options.accessTokenTtlSeconds ?? 600;

  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = randomBytes(8).toString("hex");
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" };

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  const configuration: Configuration = {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [...(c.redirectUris ?? [])],
      response_types: (c.redirectUris ?? []).length > 0 ? ["code"] : [],
      grant_types: [
        ...((c.redirectUris ?? []).length > 0 ? ["authorization_code"] : []),
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "client_credentials",
      ],
      token_endpoint_auth_method: "client_secret_basic",
    })),
    clientDefaults: {
      id_token_signed_response_alg: "ES256",
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
    jwks: { keys: [privateJwk] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    scopes: ["openid", "offline_access", "email", "profile", "groups"],
    claims: {
      // Groups come with openid itself, so that any client's default scopes carry them.
      openid: ["sub", "groups"],
      email: ["email", "email_verified"],
      profile: ["name"],
      groups: ["groups"],
    },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      IdToken: 600,
      DeviceCode: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 86_400,
      AuthorizationCode: 60,
    },
    findAccount: (_ctx, sub) => {
      const user = users.get(sub);
      if (user === undefined) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          email: user.email,
          email_verified: true,
          name: user.name,
          groups: [...user.groups],
        }),
      };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    issueRefreshToken: (_ctx, client, code) =>
      client.grantTypeAllowed("refresh_token") && code.scopes.has("offline_access"),
    extraTokenClaims: (_ctx, token) => {
      if (token.kind !== "ClientCredentials") return undefined;
      const clientId = (token as { clientId?: string }).clientId ?? "";
      return { groups: [...(clientGroups.get(clientId) ?? [])] };
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: (ctx, form, _out, err) => {
          ctx.type = "html";
          ctx.body = page(
            "Device sign-in",
            `${err === undefined ? "<p>Enter the code your terminal shows.</p>" : '<p class="error">That code is not valid.</p>'}
${form}<button type="submit" form="op.deviceInputForm">Continue</button>`,
          );
        },
        userCodeConfirmSource: (ctx, form, client, _deviceInfo, userCode) => {
          ctx.type = "html";
          ctx.body = page(
            "Confirm device",
            `<p>Sign in to <b>${escapeHtml(client.clientId)}</b> from the device showing <code>${escapeHtml(userCode)}</code>?</p>
${form}<button type="submit" form="op.deviceConfirmForm">Continue</button>`,
          );
        },
        successSource: (ctx) => {
          ctx.type = "html";
          ctx.body = page("Signed in", "<p>You are signed in; go back to your terminal.</p>");
        },
      },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx: KoaContextWithOIDC, _client, oneOf) =>
          oneOf ??
          ((ctx.oidc.params as { grant_type?: unknown } | undefined)?.grant_type === "client_credentials"
            ? DEV_IDP_GATEWAY_RESOURCE
            : undefined),
        useGrantedResource: () => false,
        getResourceServerInfo: (_ctx, resourceIndicator) => ({
          scope: "sluice",
          audience: resourceIndicator === DEV_IDP_GATEWAY_RESOURCE ? audience : resourceIndicator,
          accessTokenTTL: accessTokenTtl,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "ES256" } },
        }),
      },
    },
    renderError: (ctx, out) => {
      ctx.type = "html";
      ctx.body = page(
        "Error",
        `<p>${escapeHtml(String(out.error))}: ${escapeHtml(String(out.error_description ?? ""))}</p>`,
      );
    },
  };

  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", issuer).pathname;
    if (path.startsWith("/interaction/")) {
      interaction(provider, users, req, res, path).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(400, { "content-type": "text/html; charset=utf-8" });
          res.end(page("Error", `<p>${escapeHtml(error instanceof Error ? error.message : "error")}</p>`));
        }
      });
      return;
    }
    void callback(req, res);
  });
  log(DEV_IDP_WARNING);

  return {
    issuer,
    kid,
    get users() {
      return [...users.values()];
    },
    setGroups(login, groups) {
      const user = users.get(login);
      if (user === undefined) throw new Error(`no dev IdP user ${login}`);
      users.set(login, { ...user, groups: [...groups] });
    },
    sign: (claims, header = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: header.kid ?? kid, typ: header.typ ?? "at+jwt" })
        .sign(privateKey),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type Users = Map<string, DevIdpUser>;

async function interaction(
  provider: Provider,
  users: Users,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  if (!path.startsWith(`/interaction/${uid}`)) throw new Error("interaction mismatch");

  if (prompt.name === "login") {
    if (req.method === "POST" && path === `/interaction/${uid}/login`) {
      const form = new URLSearchParams(await readBody(req));
      const user = users.get(form.get("login") ?? "");
      if (user !== undefined && sameText(form.get("password") ?? "", user.password)) {
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId: user.login } },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      return sendHtml(res, 200, loginPage(uid, String(params.client_id), "unknown user or wrong password"));
    }
    return sendHtml(res, 200, loginPage(uid, String(params.client_id)));
  }

  if (prompt.name === "consent") {
    // Every consent is granted: a development IdP has nobody to ask.
    const accountId = details.session?.accountId;
    if (accountId === undefined) throw new Error("no session");
    const grant =
      details.grantId === undefined
        ? new provider.Grant({ accountId, clientId: String(params.client_id) })
        : await provider.Grant.find(details.grantId);
    if (grant === undefined) throw new Error("unknown grant");
    const missing = prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(" "));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: details.grantId === undefined ? { grantId } : {} },
      { mergeWithLastSubmission: true },
    );
    return;
  }
  throw new Error(`unsupported prompt ${prompt.name}`);
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error("request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}

function loginPage(uid: string, clientId: string, error?: string): string {
  return page(
    "Sign in",
    `<p>Signing in to <b>${escapeHtml(clientId)}</b>. Demo users: alice / demo, bob / demo.</p>
${error === undefined ? "" : `<p class="error">${escapeHtml(error)}</p>`}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>User <input name="login" autofocus></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)} — Sluice dev IdP</title></head>
<body><p style="background:#b00;color:#fff;padding:1em;font-weight:bold">SLUICE DEV IdP — NOT FOR PRODUCTION</p>
<h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
