import * as client from "openid-client";
import { type GroupRule, groupsClaim, mapGroups } from "./group-mapping.ts";
import { type IdpIdentity, IdpRefusedError, type SessionProvider } from "./login-sessions.ts";
import { isLoopbackHost } from "./loopback.ts";

/** One upstream OIDC provider as configured (`identity.providers[]`). */
export interface OidcProviderSettings {
  readonly name: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly scopes: readonly string[];
  readonly userClaim: string;
  readonly groupsClaim: string;
  readonly groupMapping: readonly GroupRule[] | undefined;
}

/** What a browser login must remember between the redirect to the IdP and the callback. */
export interface BrowserLoginChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
}

export interface DeviceLogin {
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete: string | undefined;
  readonly expiresIn: number;
  readonly interval: number;
  /** Resolves when the user approved at the IdP; rejects when denied, expired or aborted. */
  readonly result: Promise<IdpIdentity>;
}

/**
 * Logs people in at an upstream OpenID Connect provider with openid-client: authorization code
 * with PKCE, state and nonce for browsers, the device authorization grant for the CLI, and the
 * refresh token grant to re-read who the user is (and their groups) at every session refresh.
 * Discovery happens at the first use and is cached; a failure is retried at the next login.
 */
export class OidcProviderLogin implements SessionProvider {
  readonly name: string;
  readonly #settings: OidcProviderSettings;
  readonly #timeoutSeconds: number;
  #config: Promise<client.Configuration> | undefined;

  constructor(settings: OidcProviderSettings, options: { readonly timeoutSeconds?: number } = {}) {
    this.name = settings.name;
    this.#settings = settings;
    this.#timeoutSeconds = options.timeoutSeconds ?? 10;
  }

  mapGroups(idpGroups: readonly string[]): string[] {
    return mapGroups(idpGroups, this.#settings.groupMapping);
  }

  /** The IdP URL to send the browser to, and the checks to keep for the callback. */
  async beginBrowser(redirectUri: string): Promise<{ url: string; checks: BrowserLoginChecks }> {
    const config = await this.#configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const checks: BrowserLoginChecks = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier,
      redirectUri,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.#settings.scopes.join(" "),
      response_type: "code",
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state: checks.state,
      nonce: checks.nonce,
      ...(this.#settings.scopes.includes("offline_access") ? { prompt: "consent" } : {}),
    });
    return { url: url.href, checks };
  }

  /** Completes a browser login from the callback URL (code, state, iss as the IdP sent them). */
  async completeBrowser(callbackUrl: URL, checks: BrowserLoginChecks): Promise<IdpIdentity> {
    const config = await this.#configuration();
    const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: checks.codeVerifier,
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      idTokenExpected: true,
    });
    return this.#identity(config, tokens);
  }

  /** Starts a device authorization at the IdP; `signal` stops the polling. */
  async beginDevice(signal: AbortSignal): Promise<DeviceLogin> {
    const config = await this.#configuration();
    const response = await client.initiateDeviceAuthorization(config, {
      scope: this.#settings.scopes.join(" "),
    });
    const result = client
      .pollDeviceAuthorizationGrant(config, response, undefined, { signal })
      .then((tokens) => this.#identity(config, tokens));
    // The caller may never ask for the result (the CLI went away): never an unhandled rejection.
    result.catch(() => {});
    return {
      userCode: response.user_code,
      verificationUri: response.verification_uri,
      verificationUriComplete:
        typeof response.verification_uri_complete === "string"
          ? response.verification_uri_complete
          : undefined,
      expiresIn: response.expires_in,
      interval: response.interval ?? 5,
      result,
    };
  }

  async refresh(refreshToken: string): Promise<IdpIdentity> {
    const config = await this.#configuration();
    let tokens: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      tokens = await client.refreshTokenGrant(config, refreshToken);
    } catch (error) {
      if (error instanceof client.ResponseBodyError) throw new IdpRefusedError(error.error);
      throw error;
    }
    return this.#identity(config, tokens, refreshToken);
  }

  async #identity(
    config: client.Configuration,
    tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
    previousRefreshToken?: string,
  ): Promise<IdpIdentity> {
    let claims: Record<string, unknown> = { ...(tokens.claims() ?? {}) };
    const { userClaim, groupsClaim: groupsName } = this.#settings;
    const sub = typeof claims.sub === "string" ? claims.sub : undefined;
    const needsUserInfo = typeof claims[userClaim] !== "string" || !(groupsName in claims);
    if (needsUserInfo && sub !== undefined && config.serverMetadata().userinfo_endpoint !== undefined) {
      const info = await client.fetchUserInfo(config, tokens.access_token, sub);
      claims = { ...info, ...claims };
    }
    const user = claims[userClaim];
    if (typeof user !== "string" || user === "") {
      throw new IdpRefusedError(`the identity provider sent no ${userClaim} claim`);
    }
    const idpGroups = groupsClaim(claims, groupsName);
    if (idpGroups === undefined) throw new IdpRefusedError(`the ${groupsName} claim is not a list of names`);
    const refreshToken = tokens.refresh_token ?? previousRefreshToken;
    return { user, idpGroups, ...(refreshToken === undefined ? {} : { refreshToken }) };
  }

  #configuration(): Promise<client.Configuration> {
    if (this.#config === undefined) {
      const pending = this.#discover();
      this.#config = pending;
      pending.catch(() => {
        if (this.#config === pending) this.#config = undefined;
      });
    }
    return this.#config;
  }

  async #discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret } = this.#settings;
    const url = new URL(issuer);
    const insecure = url.protocol === "http:";
    if (insecure && !isLoopbackHost(url.hostname))
      throw new Error(`${issuer}: http is only allowed on loopback`);
    const config = await client.discovery(
      url,
      clientId,
      clientSecret === undefined ? undefined : { client_secret: clientSecret },
      clientSecret === undefined ? client.None() : client.ClientSecretBasic(clientSecret),
      { timeout: this.#timeoutSeconds, ...(insecure ? { execute: [client.allowInsecureRequests] } : {}) },
    );
    return config;
  }
}
