import type { SluiceConfig } from "../config/index.ts";
import {
  API_KEY_SESSION_PREFIX,
  CredentialVerifier,
  type LoginEvent,
  LoginService,
  OidcProviderLogin,
  ServiceAccounts,
  type TokenIssuer,
  type TokenVerifier,
  TrustedIssuerVerifier,
} from "../identity/index.ts";
import { SqliteLoginSessionStore, SqliteServiceAccountStore } from "../store/index.ts";
import { createIdentityRoutes, type IdentityRoutes } from "./identity-routes.ts";

/** Everything identity the gateway runs: credential checks, login sessions and their routes. */
export interface GatewayIdentity {
  readonly credentials: CredentialVerifier;
  readonly logins: LoginService;
  readonly serviceAccounts: ServiceAccounts;
  readonly routes: IdentityRoutes;
  /** True when a login session (or an API key, `key:<id>`) is revoked, unknown or over. */
  isSessionRevoked(loginSessionId: string): boolean;
  close(): Promise<void>;
}

export function createGatewayIdentity(
  config: SluiceConfig,
  deps: {
    readonly issuer: TokenIssuer;
    readonly verifier: TokenVerifier;
    /** The gateway's origin as clients reach it; known once the HTTP listener is bound. */
    readonly publicUrl: () => string;
    readonly log: (message: string) => void;
    readonly onLoginEvent?: (event: LoginEvent) => void;
  },
): GatewayIdentity {
  const path = config.store.kind === "sqlite" ? config.store.path : ":memory:";
  const store = new SqliteLoginSessionStore(path);
  const keyStore = new SqliteServiceAccountStore(path);
  const serviceAccounts = new ServiceAccounts(keyStore, { issuer: deps.issuer });
  const providers = new Map(
    config.identity.providers.map((provider) => [
      provider.name,
      new OidcProviderLogin({
        name: provider.name,
        issuer: provider.issuer,
        clientId: provider.clientId,
        ...(provider.clientSecret === undefined ? {} : { clientSecret: provider.clientSecret }),
        scopes: provider.scopes,
        userClaim: provider.userClaim,
        groupsClaim: provider.groupsClaim,
        groupMapping: provider.groupMapping,
      }),
    ]),
  );
  const logins = new LoginService({
    store,
    issuer: deps.issuer,
    providers,
    sessionTtlSeconds: config.identity.sessionTtlSeconds,
    onEvent: (event) => {
      deps.log(
        `login: ${event.type} ${event.user} via ${event.provider} (session ${event.sessionId})${event.reason ? `: ${event.reason}` : ""}`,
      );
      deps.onLoginEvent?.(event);
    },
  });
  const isSessionRevoked = (id: string): boolean =>
    id.startsWith(API_KEY_SESSION_PREFIX)
      ? serviceAccounts.isRevoked(id.slice(API_KEY_SESSION_PREFIX.length))
      : logins.isRevoked(id);
  const trusted =
    config.identity.trustedIssuers.length === 0
      ? undefined
      : new TrustedIssuerVerifier(config.identity.trustedIssuers, {
          leewaySeconds: config.tokens.leewaySeconds,
        });
  const credentials = new CredentialVerifier({
    gateway: deps.verifier,
    gatewayIssuer: config.tokens.issuer,
    ...(trusted === undefined ? {} : { trusted }),
    revocation: { isRevoked: (id) => isSessionRevoked(id) },
  });
  const routes = createIdentityRoutes({
    providers,
    logins,
    serviceAccounts,
    credentials,
    publicUrl: deps.publicUrl,
    sessionTtlSeconds: config.identity.sessionTtlSeconds,
    log: deps.log,
  });
  return {
    credentials,
    logins,
    serviceAccounts,
    routes,
    isSessionRevoked,
    async close() {
      routes.close();
      await store.close();
      await keyStore.close();
    },
  };
}

/** `http://host:port` for a bound listener (IPv6 hosts in brackets). */
export function originOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
