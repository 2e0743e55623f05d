import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import { ErrorCodes, type Principal, type PrincipalKind, SluiceError } from "../core/index.ts";
import { fetchDiscovery } from "./discovery.ts";
import { type GroupRule, groupsClaim, mapGroups } from "./group-mapping.ts";
import { type Clock, systemClock } from "./token-settings.ts";
import { invalid, toSluiceError } from "./token-verifier.ts";

/** One external issuer whose JWTs are accepted wherever a gateway token is. */
export interface TrustedIssuer {
  /** As configured (no trailing slash); the discovery document's `issuer` must match it. */
  readonly issuer: string;
  readonly audience: string;
  readonly kind: PrincipalKind;
  readonly userClaim: string;
  readonly groupsClaim: string;
  readonly groupMapping: readonly GroupRule[] | undefined;
  /** Asymmetric algorithms only; `none` and HMAC are never accepted whatever is passed. */
  readonly algorithms: readonly string[];
  /**
   * The actor claim (RFC 8693 `act`; default none): a token carrying it is an agent (`act.sub`)
   * acting for the token's subject. Absent: such tokens are read like any other.
   */
  readonly actClaim?: string | undefined;
  /**
   * Where the groups of the human an agent acts for come from: the token's groups claim
   * (`token`, the default), or that user's live login session at this gateway (`login_session`).
   */
  readonly onBehalfOfGroups?: "token" | "login_session" | undefined;
}

/** A user's live login session at this gateway, for agents acting for them. */
export interface HumanSession {
  readonly sessionId: string;
  /** The user's groups as the session's provider maps them now. */
  readonly groups: readonly string[];
}

export interface TrustedIssuerOptions {
  readonly leewaySeconds: number;
  readonly now?: Clock;
  /** How long a failed discovery is remembered before trying again. Default 10 s. */
  readonly retryAfterMs?: number;
  /** Network timeout for discovery and key fetches. Default 5 s. */
  readonly timeoutMs?: number;
  /** The newest live login session of a user (issuers with `onBehalfOfGroups: login_session`). */
  readonly humanSession?: (user: string) => Promise<HumanSession | undefined>;
}

/** External tokens may be larger than ours, but not without bound. */
const MAX_TOKEN_LENGTH = 16 * 1024;
const FORBIDDEN_ALGORITHMS = /^(none|HS\d+)$/i;

type KeySet = ReturnType<typeof createRemoteJWKSet>;

interface Resolved {
  /** The `iss` value exactly as the discovery document spells it. */
  readonly issuer: string;
  readonly keys: KeySet;
}

/**
 * Verifies JWTs of configured external issuers (CI systems, workload identity, another IdP's
 * access tokens) against the keys their discovery document publishes, and maps their claims to
 * a principal. Discovery happens at the first token of each issuer and is cached; keys are
 * fetched by jose's remote key set (refetched, with a cool-down, when an unknown kid arrives).
 */
export class TrustedIssuerVerifier {
  readonly #issuers: ReadonlyMap<string, TrustedIssuer>;
  readonly #options: TrustedIssuerOptions;
  readonly #now: Clock;
  readonly #resolved = new Map<string, Promise<Resolved>>();
  readonly #failedAt = new Map<string, number>();

  constructor(issuers: readonly TrustedIssuer[], options: TrustedIssuerOptions) {
    for (const issuer of issuers) {
      if (issuer.algorithms.length === 0 || issuer.algorithms.some((alg) => FORBIDDEN_ALGORITHMS.test(alg))) {
        throw new RangeError(`${issuer.issuer}: only asymmetric signature algorithms may be trusted`);
      }
    }
    this.#issuers = new Map(issuers.map((i) => [trimSlash(i.issuer), i]));
    this.#options = options;
    this.#now = options.now ?? systemClock;
  }

  /** Whether `iss` (an unverified claim) names a configured issuer. */
  has(iss: string): boolean {
    return this.#issuers.has(trimSlash(iss));
  }

  /**
   * Verifies `token`, whose unverified `iss` is `iss`. Throws SluiceError (token invalid or
   * expired, messages safe for clients) when the token is refused.
   */
  async verify(token: string, iss: string): Promise<Principal> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw invalid("malformed token");
    }
    const trusted = this.#issuers.get(trimSlash(iss));
    if (trusted === undefined) throw invalid("unknown issuer");
    const resolved = await this.#resolve(trusted);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, resolved.keys, {
        algorithms: [...trusted.algorithms],
        issuer: resolved.issuer,
        audience: trusted.audience,
        clockTolerance: this.#options.leewaySeconds,
        requiredClaims: ["exp"],
        currentDate: this.#now(),
      }));
    } catch (error) {
      throw externalError(error);
    }
    const principal = principalFrom(payload, trusted);
    if (principal.kind !== "agent" || trusted.onBehalfOfGroups !== "login_session") return principal;
    return this.#withHumanSession(principal);
  }

  /** An agent's human as their live login session has them: groups now, bound to that session. */
  async #withHumanSession(principal: Principal): Promise<Principal> {
    const human = principal.onBehalfOf;
    const session = human === undefined ? undefined : await this.#options.humanSession?.(human.user);
    if (human === undefined || session === undefined) {
      throw invalid("the user the agent acts for is not logged in");
    }
    return Object.freeze({
      ...principal,
      onBehalfOf: Object.freeze({ user: human.user, groups: Object.freeze([...session.groups]) }),
      loginSessionId: session.sessionId,
    });
  }

  async #resolve(trusted: TrustedIssuer): Promise<Resolved> {
    const key = trimSlash(trusted.issuer);
    const failedAt = this.#failedAt.get(key);
    if (failedAt !== undefined && Date.now() - failedAt < (this.#options.retryAfterMs ?? 10_000)) {
      throw unavailable();
    }
    let pending = this.#resolved.get(key);
    if (pending === undefined) {
      pending = this.#discover(trusted);
      this.#resolved.set(key, pending);
    }
    try {
      return await pending;
    } catch {
      this.#resolved.delete(key);
      this.#failedAt.set(key, Date.now());
      throw unavailable();
    }
  }

  async #discover(trusted: TrustedIssuer): Promise<Resolved> {
    const timeoutMs = this.#options.timeoutMs ?? 5000;
    const metadata = await fetchDiscovery(trusted.issuer, timeoutMs);
    const keys = createRemoteJWKSet(new URL(metadata.jwks_uri), {
      timeoutDuration: timeoutMs,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });
    return { issuer: metadata.issuer, keys };
  }
}

function principalFrom(payload: JWTPayload, trusted: TrustedIssuer): Principal {
  const user = payload[trusted.userClaim];
  if (typeof user !== "string" || user === "") throw invalid(`missing ${trusted.userClaim} claim`);
  const idpGroups = groupsClaim(payload, trusted.groupsClaim);
  if (idpGroups === undefined) throw invalid(`bad ${trusted.groupsClaim} claim`);
  const groups = Object.freeze(mapGroups(idpGroups, trusted.groupMapping));
  const lifetime = {
    ...(typeof payload.jti === "string" ? { tokenId: payload.jti } : {}),
    ...(typeof payload.exp === "number" ? { expiresAt: payload.exp } : {}),
  };
  const act = trusted.actClaim === undefined ? undefined : payload[trusted.actClaim];
  if (act === undefined || act === null) {
    return Object.freeze({ user, groups, kind: trusted.kind, ...lifetime });
  }
  // RFC 8693: the subject is the party acted for, `act.sub` the one acting (now; nested `act`
  // objects name earlier actors and are not used). The agent's own groups are only those the
  // actor claim lists, mapped like the subject's; the human keeps theirs.
  if (typeof act !== "object" || Array.isArray(act)) throw invalid(`bad ${trusted.actClaim} claim`);
  const actor = (act as Record<string, unknown>).sub;
  if (typeof actor !== "string" || actor === "" || actor === user) {
    throw invalid(`bad ${trusted.actClaim} claim`);
  }
  const actorGroups = groupsClaim(act as Record<string, unknown>, trusted.groupsClaim);
  if (actorGroups === undefined) throw invalid(`bad ${trusted.actClaim} claim`);
  return Object.freeze({
    user: actor,
    groups: Object.freeze(mapGroups(actorGroups, trusted.groupMapping)),
    kind: "agent",
    onBehalfOf: Object.freeze({ user, groups }),
    ...lifetime,
  });
}

function externalError(error: unknown): SluiceError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_JWKS_TIMEOUT" || code === "ERR_JWKS_INVALID") return unavailable();
  if (code === "ERR_JWKS_MULTIPLE_MATCHING_KEYS") return invalid("ambiguous signing key");
  if (code === "ERR_JWS_INVALID" || code === "ERR_JWT_INVALID") return invalid("malformed token");
  if (error instanceof TypeError || (error instanceof Error && error.name === "AbortError")) {
    return unavailable();
  }
  return toSluiceError(error);
}

function unavailable(): SluiceError {
  return new SluiceError(ErrorCodes.tokenInvalid, "invalid token: the issuer's keys are unavailable", {
    expose: true,
  });
}

function trimSlash(text: string): string {
  return text.endsWith("/") ? text.slice(0, -1) : text;
}
