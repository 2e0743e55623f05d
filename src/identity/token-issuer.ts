import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import type { Principal, PrincipalKind } from "../core/index.ts";
import { SIGNING_ALGORITHM, type SigningKey } from "./signing-key.ts";
import { type Clock, systemClock, type TokenSettings } from "./token-settings.ts";

const KINDS: ReadonlySet<string> = new Set<PrincipalKind>(["human", "service", "agent"]);

export interface IssueRequest {
  readonly user: string;
  readonly groups: readonly string[];
  readonly kind: PrincipalKind;
  /** Requested lifetime; defaults to the configured default and is capped at the configured maximum. */
  readonly ttlSeconds?: number;
  /** For agents: the human they act for, carried in the private `obo` claim. */
  readonly onBehalfOf?: NonNullable<Principal["onBehalfOf"]>;
  /** The login session (or API key) the token comes from, carried in the `sid` claim. */
  readonly loginSessionId?: string;
  /** Latest expiry (seconds since epoch): a token never outlives the session it comes from. */
  readonly notAfter?: number;
}

/** The claims Sluice puts in a gateway token, beside iss, aud, sub, iat, nbf, exp and jti. */
export interface GatewayClaims {
  readonly groups: readonly string[];
  readonly kind: PrincipalKind;
  /**
   * On-behalf-of: the human the subject (an agent) acts for. A private claim, not RFC 8693's
   * `act` (which names the actor while `sub` is the party acted for): here `sub` is always the
   * one acting, and `obo` the human behind it.
   */
  readonly obo?: { readonly sub: string; readonly groups: readonly string[] };
  /** The login session the token was issued from (revocation). */
  readonly sid?: string;
}

/** Mints short-lived gateway tokens (JWT, ES256) for verified principals. */
export class TokenIssuer {
  readonly #key: SigningKey;
  readonly #settings: TokenSettings;
  readonly #now: Clock;

  constructor(key: SigningKey, settings: TokenSettings, options: { readonly now?: Clock } = {}) {
    if (!(settings.maxTtlSeconds > 0)) throw new RangeError("maxTtlSeconds must be positive");
    this.#key = key;
    this.#settings = settings;
    this.#now = options.now ?? systemClock;
  }

  async issue(request: IssueRequest): Promise<string> {
    const { user, groups, kind, onBehalfOf } = request;
    if (user === "") throw new RangeError("user must not be empty");
    if (!KINDS.has(kind)) throw new RangeError(`unknown principal kind ${String(kind)}`);
    if (onBehalfOf !== undefined && onBehalfOf.user === "")
      throw new RangeError("onBehalfOf.user must not be empty");
    const ttl = Math.min(
      request.ttlSeconds ?? this.#settings.defaultTtlSeconds,
      this.#settings.maxTtlSeconds,
    );
    if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new RangeError("ttlSeconds must be a positive integer");

    const now = Math.floor(this.#now().getTime() / 1000);
    const expiry = Math.min(now + ttl, request.notAfter ?? Number.POSITIVE_INFINITY);
    if (!(expiry > now)) throw new RangeError("notAfter must be in the future");
    const claims: GatewayClaims = {
      groups: [...groups],
      kind,
      ...(onBehalfOf === undefined ? {} : { obo: { sub: onBehalfOf.user, groups: [...onBehalfOf.groups] } }),
      ...(request.loginSessionId === undefined ? {} : { sid: request.loginSessionId }),
    };
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: this.#key.kid, typ: "JWT" })
      .setIssuer(this.#settings.issuer)
      .setAudience(this.#settings.audience)
      .setSubject(user)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(expiry)
      .setJti(randomBytes(16).toString("base64url"))
      .sign(this.#key.privateKey);
  }
}
