import type { PrincipalKind } from "../core/index.ts";

/**
 * One group mapping rule: an IdP group matching `from` (a glob: `*` any run, `?` one character)
 * becomes the Sluice group `to`.
 */
export interface GroupMappingRule {
  readonly from: string;
  readonly to: string;
}

/** An upstream OpenID Connect provider people log in with. */
export interface OidcProviderConfig {
  readonly name: string;
  readonly type: "oidc";
  /** The issuer URL; its discovery document is read at the first login. */
  readonly issuer: string;
  readonly clientId: string;
  /** Resolved secret; a non-enumerable property (never in JSON or inspect output). Absent: public client. */
  readonly clientSecret?: string;
  readonly scopes: readonly string[];
  /** The claim that names the user (default `email`). */
  readonly userClaim: string;
  /** The claim that lists the user's groups (default `groups`). */
  readonly groupsClaim: string;
  /** Absent: the IdP's groups are used as they are. Present: only the groups the rules produce. */
  readonly groupMapping: readonly GroupMappingRule[] | undefined;
}

/** An upstream SAML 2.0 identity provider people log in with in a browser. */
export interface SamlProviderConfig {
  readonly name: string;
  readonly type: "saml";
  /** The IdP's metadata file (absolute once loaded): entity id, SSO URL, signing certificates. */
  readonly metadataPath: string;
  /** The gateway's entity id at the IdP. Absent: `<public_url>/saml/<name>`. */
  readonly entityId: string | undefined;
  /** The attribute that names the user. Absent: the assertion's NameID. */
  readonly userAttribute: string | undefined;
  /** The attribute that lists the user's groups (default `groups`). */
  readonly groupsAttribute: string;
  readonly groupMapping: readonly GroupMappingRule[] | undefined;
}

export type IdentityProviderConfig = OidcProviderConfig | SamlProviderConfig;

/** An external token issuer whose JWTs are accepted wherever a gateway token is. */
export interface TrustedIssuerConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly kind: PrincipalKind;
  /** The claim that names the principal (default `sub`). */
  readonly userClaim: string;
  readonly groupsClaim: string;
  readonly groupMapping: readonly GroupMappingRule[] | undefined;
  /** Asymmetric JWS algorithms accepted; never `none` or HMAC. */
  readonly algorithms: readonly string[];
  /**
   * The RFC 8693 actor claim (default `act`): a token carrying it is an agent (`act.sub`) acting
   * for the token's subject.
   */
  readonly actClaim: string;
  /** Where the groups of the human an agent acts for come from (default `token`). */
  readonly onBehalfOfGroups: "token" | "login_session";
}

export interface IdentityConfig {
  readonly providers: readonly IdentityProviderConfig[];
  readonly trustedIssuers: readonly TrustedIssuerConfig[];
  /** Lifetime of a login session (the refreshable part); access tokens use `tokens.default_ttl`. */
  readonly sessionTtlSeconds: number;
  /** How often live protocol sessions are checked for revoked or expired identities. */
  readonly revocationCheckIntervalSeconds: number;
  /**
   * The gateway's HTTP address as browsers and the CLI reach it (redirect URIs are built from
   * it). Absent: `http://<listeners.http>` as bound.
   */
  readonly publicUrl: string | undefined;
}
