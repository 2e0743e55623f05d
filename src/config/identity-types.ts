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
}

export interface IdentityConfig {
  readonly providers: readonly OidcProviderConfig[];
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
