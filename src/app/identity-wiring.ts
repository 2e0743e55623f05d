import { readFile } from "node:fs/promises";
import type { AuditLog } from "../audit/index.ts";
import type { SluiceConfig } from "../config/index.ts";
import {
  AgentTokens,
  API_KEY_SESSION_PREFIX,
  type ApiKeyStore,
  CredentialVerifier,
  isAllowedIdpUrl,
  type LoginEvent,
  LoginService,
  type LoginSessionStore,
  OidcProviderLogin,
  parseSamlIdpMetadata,
  SamlProviderLogin,
  ServiceAccounts,
  type SessionProvider,
  type TokenIssuer,
  type TokenVerifier,
  TrustedIssuerVerifier,
} from "../identity/index.ts";
import {
  PostgresIdentityStores,
  SqliteLoginSessionStore,
  SqliteServiceAccountStore,
  type Store,
} from "../store/index.ts";
import { agentTokenAuditEvent, loginAuditEvent, serviceAccountAuditEvent } from "./identity-audit.ts";
import { createIdentityRoutes, type IdentityRoutes } from "./identity-routes.ts";

/** Everything identity the gateway runs: credential checks, login sessions and their routes. */
export interface GatewayIdentity {
  readonly credentials: CredentialVerifier;
  readonly logins: LoginService;
  readonly serviceAccounts: ServiceAccounts;
  readonly agentTokens: AgentTokens;
  readonly routes: IdentityRoutes;
  /** True when a login session (or an API key, `key:<id>`) is revoked, unknown or over. */
  isSessionRevoked(loginSessionId: string): boolean;
  close(): Promise<void>;
}

type Closable<T> = T & { close(): Promise<void> };

/**
 * Login sessions and API keys where the audit trail is: the SQLite file, or the shared PostgreSQL
 * store (kept in memory as well for the synchronous revocation check, and followed through the
 * store's notifications).
 */
async function identityStores(
  config: SluiceConfig,
  store: Store,
  log: (message: string) => void,
  onRevoked: () => void,
): Promise<{ sessions: Closable<LoginSessionStore>; keys: Closable<ApiKeyStore> }> {
  if (config.store.kind === "sqlite") {
    return {
      sessions: new SqliteLoginSessionStore(config.store.path),
      keys: new SqliteServiceAccountStore(config.store.path),
    };
  }
  const shared = new PostgresIdentityStores({
    store,
    url: config.store.url,
    reloadIntervalMs: Math.max(5, config.identity.revocationCheckIntervalSeconds) * 1000,
    log,
    onRevoked,
  });
  try {
    await shared.start();
  } catch (error) {
    await shared.close();
    throw error;
  }
  // One object for both (closing it twice is harmless).
  return { sessions: shared, keys: shared };
}

export async function createGatewayIdentity(
  config: SluiceConfig,
  deps: {
    readonly issuer: TokenIssuer;
    readonly verifier: TokenVerifier;
    /** The gateway's store (opened and ready): where login sessions and API keys are kept. */
    readonly store: Store;
    /** Identity events go into the audit trail; tokens are handed out only once recorded. */
    readonly audit: AuditLog;
    /** The gateway's origin as clients reach it; known once the HTTP listener is bound. */
    readonly publicUrl: () => string;
    readonly log: (message: string) => void;
    readonly onLoginEvent?: (event: LoginEvent) => void;
    /** A shared store announced a session or key revoked by another gateway. */
    readonly onRevokedElsewhere?: () => void;
  },
): Promise<GatewayIdentity> {
  const { sessions: store, keys: keyStore } = await identityStores(config, deps.store, deps.log, () =>
    deps.onRevokedElsewhere?.(),
  );
  /** Events that hand out a credential fail with the audit trail; the others are only logged. */
  const record = (event: ReturnType<typeof agentTokenAuditEvent>, mustRecord: boolean): Promise<void> => {
    const written = deps.audit.record(event);
    if (mustRecord) return written;
    return written.catch((error: unknown) =>
      deps.log(
        `audit: could not record ${event.type}: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
  };
  const serviceAccounts = new ServiceAccounts(keyStore, {
    issuer: deps.issuer,
    onEvent: (event) => record(serviceAccountAuditEvent(event), event.type !== "revoked"),
  });
  const agentTokens = new AgentTokens(deps.issuer, {
    onEvent: (event) => record(agentTokenAuditEvent(event), true),
  });
  const providers = new Map<string, OidcProviderLogin>();
  const samlProviders = new Map<string, SamlProviderLogin>();
  for (const provider of config.identity.providers) {
    if (provider.type === "saml") {
      samlProviders.set(
        provider.name,
        new SamlProviderLogin(
          {
            name: provider.name,
            metadata: await samlMetadata(provider.name, provider.metadataPath),
            entityId: provider.entityId,
            userAttribute: provider.userAttribute,
            groupsAttribute: provider.groupsAttribute,
            groupMapping: provider.groupMapping,
          },
          { clockSkewSeconds: config.tokens.leewaySeconds },
        ),
      );
      continue;
    }
    providers.set(
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
    );
  }
  const logins = new LoginService({
    store,
    issuer: deps.issuer,
    providers: new Map<string, SessionProvider>([...providers, ...samlProviders]),
    sessionTtlSeconds: config.identity.sessionTtlSeconds,
    onEvent: (event) => {
      deps.log(
        `login: ${event.type} ${event.user} via ${event.provider} (session ${event.sessionId})${event.reason ? `: ${event.reason}` : ""}`,
      );
      deps.onLoginEvent?.(event);
      const audited = loginAuditEvent(event);
      if (audited === undefined) return;
      return record(audited, event.type === "login" || event.type === "refresh");
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
          humanSession: (user) => logins.currentSession(user),
        });
  const credentials = new CredentialVerifier({
    gateway: deps.verifier,
    gatewayIssuer: config.tokens.issuer,
    ...(trusted === undefined ? {} : { trusted }),
    revocation: {
      isRevoked: (id) =>
        id.startsWith(API_KEY_SESSION_PREFIX)
          ? serviceAccounts.checkRevoked(id.slice(API_KEY_SESSION_PREFIX.length))
          : logins.checkRevoked(id),
    },
  });
  const routes = createIdentityRoutes({
    providers,
    samlProviders,
    logins,
    serviceAccounts,
    agentTokens,
    credentials,
    publicUrl: deps.publicUrl,
    sessionTtlSeconds: config.identity.sessionTtlSeconds,
    log: deps.log,
  });
  return {
    credentials,
    logins,
    serviceAccounts,
    agentTokens,
    routes,
    isSessionRevoked,
    async close() {
      routes.close();
      await store.close();
      await keyStore.close();
    },
  };
}

/** A SAML IdP's metadata file, read and checked at start: a gateway that cannot verify assertions does not start. */
async function samlMetadata(name: string, path: string) {
  let xml: string;
  try {
    xml = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`identity provider ${name}: cannot read its SAML metadata: ${(error as Error).message}`);
  }
  try {
    return parseSamlIdpMetadata(xml, (url) => {
      try {
        return isAllowedIdpUrl(new URL(url));
      } catch {
        return false;
      }
    });
  } catch (error) {
    throw new Error(`identity provider ${name}: SAML metadata ${path}: ${(error as Error).message}`);
  }
}

/** `http://host:port` for a bound listener (IPv6 hosts in brackets). */
export function originOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
