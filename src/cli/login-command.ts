import type { Command } from "commander";
import { SluiceError } from "../core/index.ts";
import { isLoopbackHost } from "../identity/index.ts";
import { type CachedLogin, CredentialCache, normalizeGateway } from "./credential-cache.ts";

/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_SECONDS = 60;

interface TokenResponse {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  session_expires_at: number;
  user: string;
  groups: string[];
}

function usage(message: string): SluiceError {
  return new SluiceError("SLUICE_CLI_USAGE", message);
}

function loginError(message: string): SluiceError {
  return new SluiceError("SLUICE_CLI_LOGIN", message);
}

/** The gateway origin, refusing plain http anywhere but loopback (tokens travel in it). */
function checkedGateway(url: string): string {
  let origin: string;
  try {
    origin = normalizeGateway(url);
  } catch {
    throw usage(`--gateway: "${url}" is not an http(s) URL`);
  }
  const parsed = new URL(origin);
  if (parsed.protocol === "http:" && !isLoopbackHost(parsed.hostname)) {
    throw usage(`--gateway: plain http is only allowed on loopback; use https://${parsed.host}`);
  }
  return origin;
}

async function post(gateway: string, path: string, body: Record<string, unknown>): Promise<Response> {
  try {
    return await fetch(`${gateway}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      redirect: "error",
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw loginError(`cannot reach the gateway at ${gateway}`);
  }
}

function toCached(body: TokenResponse, provider?: string): CachedLogin {
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    expiresAt: Math.floor(Date.now() / 1000) + body.expires_in,
    sessionExpiresAt: body.session_expires_at,
    user: body.user,
    groups: body.groups,
    ...(provider === undefined ? {} : { provider }),
  };
}

/**
 * A cached login whose access token is good for at least a minute, refreshing it silently when
 * needed. Throws when there is no login or the session is over (the cache entry is dropped).
 */
export async function currentLogin(
  cache: CredentialCache,
  gatewayOption: string | undefined,
): Promise<{ gateway: string; login: CachedLogin }> {
  const gateway = await cache.resolveGateway(
    gatewayOption === undefined ? undefined : checkedGateway(gatewayOption),
  );
  if (gateway === undefined) throw loginError("not logged in: run sluice login --gateway <url>");
  const login = await cache.get(gateway);
  if (login === undefined)
    throw loginError(`not logged in to ${gateway}: run sluice login --gateway ${gateway}`);
  const now = Math.floor(Date.now() / 1000);
  if (login.expiresAt - REFRESH_MARGIN_SECONDS > now) return { gateway, login };
  const response = await post(gateway, "/token/refresh", { refresh_token: login.refreshToken });
  if (response.status === 401) {
    await cache.remove(gateway);
    const body = (await response.json().catch(() => ({}))) as { error_description?: string };
    throw loginError(
      `your session at ${gateway} has ended (${body.error_description ?? "refresh refused"}): run sluice login`,
    );
  }
  if (!response.ok) throw loginError(`the gateway could not refresh your session (HTTP ${response.status})`);
  const refreshed = toCached((await response.json()) as TokenResponse, login.provider);
  await cache.put(gateway, refreshed);
  return { gateway, login: refreshed };
}

async function deviceLogin(
  gateway: string,
  provider: string | undefined,
  cache: CredentialCache,
): Promise<CachedLogin> {
  const started = await post(gateway, "/login/device", provider === undefined ? {} : { provider });
  const start = (await started.json().catch(() => ({}))) as {
    device_code?: string;
    user_code?: string;
    verification_uri?: string;
    verification_uri_complete?: string;
    interval?: number;
    expires_in?: number;
    provider?: string;
    error_description?: string;
  };
  if (!started.ok || start.device_code === undefined) {
    throw loginError(
      `the gateway could not start a login: ${start.error_description ?? `HTTP ${started.status}`}`,
    );
  }
  process.stderr.write(
    `To sign in, open ${start.verification_uri_complete ?? start.verification_uri}\n` +
      `and check that it shows the code ${start.user_code}\n` +
      "Waiting for you to sign in…\n",
  );
  let interval = Math.max(1, start.interval ?? 5);
  const deadline = Date.now() + (start.expires_in ?? 600) * 1000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, interval * 1000));
    const response = await post(gateway, "/login/device/token", { device_code: start.device_code });
    const body = (await response.json().catch(() => ({}))) as Partial<TokenResponse> & { error?: string };
    if (response.ok && body.access_token !== undefined) {
      const login = toCached(body as TokenResponse, start.provider ?? provider);
      await cache.put(gateway, login);
      return login;
    }
    if (body.error === "authorization_pending") continue;
    if (body.error === "slow_down") {
      interval += 5;
      continue;
    }
    throw loginError(
      body.error === "access_denied"
        ? "the login was refused at the identity provider"
        : body.error === "expired_token"
          ? "the login code expired: run sluice login again"
          : `the login failed (${body.error ?? `HTTP ${response.status}`})`,
    );
  }
  throw loginError("the login code expired: run sluice login again");
}

function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function registerLoginCommands(program: Command): void {
  program
    .command("login")
    .description("log in at a gateway through its identity provider (device flow) and cache the session")
    .option("--gateway <url>", "the gateway's HTTP address, e.g. https://sluice.example.com")
    .option("--provider <name>", "the identity provider to use, when the gateway has several")
    .action(async (options: { gateway?: string; provider?: string }) => {
      const cache = new CredentialCache();
      const gateway = await cache.resolveGateway(
        options.gateway === undefined ? undefined : checkedGateway(options.gateway),
      );
      if (gateway === undefined) throw usage("--gateway <url> is required for the first login");
      const login = await deviceLogin(gateway, options.provider, cache);
      process.stderr.write(
        `Logged in to ${gateway} as ${login.user} (groups: ${login.groups.join(", ") || "none"}); session until ${formatTime(login.sessionExpiresAt)}\n`,
      );
    });

  program
    .command("logout")
    .description("end the cached session at the gateway and forget it")
    .option("--gateway <url>", "the gateway's HTTP address")
    .action(async (options: { gateway?: string }) => {
      const cache = new CredentialCache();
      const gateway = await cache.resolveGateway(
        options.gateway === undefined ? undefined : checkedGateway(options.gateway),
      );
      const login = gateway === undefined ? undefined : await cache.get(gateway);
      if (gateway === undefined || login === undefined) throw loginError("not logged in");
      const response = await post(gateway, "/logout", { refresh_token: login.refreshToken }).catch(
        () => undefined,
      );
      await cache.remove(gateway);
      process.stderr.write(
        response?.ok
          ? `Logged out of ${gateway}\n`
          : `Forgot the session for ${gateway} (the gateway was not reached)\n`,
      );
    });

  program
    .command("whoami")
    .description("show who the gateway thinks you are: identity, groups and expiry")
    .option("--gateway <url>", "the gateway's HTTP address")
    .option("--json", "print JSON")
    .action(async (options: { gateway?: string; json?: boolean }) => {
      const cache = new CredentialCache();
      const { gateway, login } = await currentLogin(cache, options.gateway);
      let response: Response;
      try {
        response = await fetch(`${gateway}/whoami`, {
          headers: { authorization: `Bearer ${login.accessToken}`, accept: "application/json" },
          redirect: "error",
          signal: AbortSignal.timeout(30_000),
        });
      } catch {
        throw loginError(`cannot reach the gateway at ${gateway}`);
      }
      const body = (await response.json().catch(() => ({}))) as {
        user?: string;
        kind?: string;
        groups?: string[];
        expires_at?: number;
        error?: string;
        on_behalf_of?: { user: string };
      };
      if (!response.ok) throw loginError(`the gateway refused your token: ${body.error ?? response.status}`);
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ gateway, ...body, session_expires_at: login.sessionExpiresAt })}\n`,
        );
        return;
      }
      process.stdout.write(
        [
          `gateway:  ${gateway}`,
          `user:     ${body.user} (${body.kind})`,
          ...(body.on_behalf_of ? [`for:      ${body.on_behalf_of.user}`] : []),
          `groups:   ${(body.groups ?? []).join(", ") || "none"}`,
          `token:    expires ${body.expires_at === undefined ? "?" : formatTime(body.expires_at)}`,
          `session:  ends ${formatTime(login.sessionExpiresAt)}${login.provider ? ` (via ${login.provider})` : ""}`,
          "",
        ].join("\n"),
      );
    });
}

/** `sluice token get`: a current access token on stdout (e.g. for PGPASSWORD), refreshed silently. */
export function registerTokenGet(token: Command): void {
  token
    .command("get")
    .description("print a current gateway access token from the cached login (refreshing it when needed)")
    .option("--gateway <url>", "the gateway's HTTP address")
    .action(async (options: { gateway?: string }) => {
      const { login } = await currentLogin(new CredentialCache(), options.gateway);
      process.stdout.write(`${login.accessToken}\n`);
    });
}
