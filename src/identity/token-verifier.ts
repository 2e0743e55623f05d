import { type CryptoKey, type JWTPayload, jwtVerify } from "jose";
import { ErrorCodes, type Principal, type PrincipalKind, SluiceError } from "../core/index.ts";
import type { PublicKeySet } from "./public-key-set.ts";
import { SIGNING_ALGORITHM } from "./signing-key.ts";
import { type Clock, systemClock, type TokenSettings } from "./token-settings.ts";

/** Longer than any token Sluice issues; anything bigger is refused before parsing. */
const MAX_TOKEN_LENGTH = 8192;

const KINDS: ReadonlySet<string> = new Set<PrincipalKind>(["human", "service", "agent"]);

/** Messages by jose error code; none of them contains the token or its claims. */
const REASONS: Readonly<Record<string, string>> = {
  ERR_JOSE_ALG_NOT_ALLOWED: "algorithm not allowed",
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "bad signature",
  ERR_JWKS_NO_MATCHING_KEY: "unknown signing key",
};

const CLAIM_REASONS: Readonly<Record<string, string>> = {
  iss: "wrong issuer",
  aud: "wrong audience",
  nbf: "not yet valid",
  iat: "issued in the future",
};

/** Registered claim names jose may report; other names are not repeated back. */
const CLAIM_NAMES: ReadonlySet<string> = new Set(["iss", "aud", "sub", "exp", "iat", "nbf", "jti"]);

export type VerifierSettings = Pick<TokenSettings, "issuer" | "audience" | "leewaySeconds"> &
  Partial<Pick<TokenSettings, "maxTtlSeconds">>;

/** Checks gateway tokens and turns them into principals. */
export class TokenVerifier {
  readonly #keys: PublicKeySet;
  readonly #settings: VerifierSettings;
  readonly #now: Clock;

  constructor(keys: PublicKeySet, settings: VerifierSettings, options: { readonly now?: Clock } = {}) {
    this.#keys = keys;
    this.#settings = settings;
    this.#now = options.now ?? systemClock;
  }

  /**
   * Throws SluiceError SLUICE_IDENTITY_TOKEN_EXPIRED for an expired token and
   * SLUICE_IDENTITY_TOKEN_INVALID for anything else; both messages are safe to show a client.
   */
  async verify(token: string): Promise<Principal> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw invalid("malformed token");
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header) => this.#keyFor(header.kid), {
        algorithms: [SIGNING_ALGORITHM],
        issuer: this.#settings.issuer,
        audience: this.#settings.audience,
        clockTolerance: this.#settings.leewaySeconds,
        requiredClaims: ["exp", "iat", "sub"],
        currentDate: this.#now(),
        ...(this.#settings.maxTtlSeconds === undefined ? {} : { maxTokenAge: this.#settings.maxTtlSeconds }),
      }));
    } catch (error) {
      throw toSluiceError(error);
    }
    return principalFrom(payload);
  }

  #keyFor(kid: string | undefined): CryptoKey {
    if (kid === undefined) throw invalid("missing key id");
    const key = this.#keys.get(kid);
    if (key === undefined) throw invalid("unknown signing key");
    return key;
  }
}

function principalFrom(payload: JWTPayload): Principal {
  const { sub, groups = [], kind, obo, jti, exp, sid } = payload as JWTPayload & { sid?: unknown };
  if (typeof sub !== "string" || sub === "") throw invalid("missing subject");
  if (typeof kind !== "string" || !KINDS.has(kind)) throw invalid("bad kind claim");
  if (!isStringArray(groups)) throw invalid("bad groups claim");
  if (sid !== undefined && (typeof sid !== "string" || sid === "")) throw invalid("bad sid claim");
  const onBehalfOf = obo === undefined ? undefined : actorFrom(obo);
  return Object.freeze({
    user: sub,
    groups: Object.freeze([...groups]),
    kind: kind as PrincipalKind,
    ...(onBehalfOf === undefined ? {} : { onBehalfOf }),
    ...(typeof jti === "string" ? { tokenId: jti } : {}),
    ...(typeof exp === "number" ? { expiresAt: exp } : {}),
    ...(typeof sid === "string" ? { loginSessionId: sid } : {}),
  });
}

function actorFrom(act: unknown): NonNullable<Principal["onBehalfOf"]> {
  if (typeof act !== "object" || act === null) throw invalid("bad obo claim");
  const { sub, groups = [] } = act as { sub?: unknown; groups?: unknown };
  if (typeof sub !== "string" || sub === "" || !isStringArray(groups)) throw invalid("bad obo claim");
  return Object.freeze({ user: sub, groups: Object.freeze([...groups]) });
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** A jose (or Sluice) error as the SluiceError a client may see; never contains the token. */
export function toSluiceError(error: unknown): SluiceError {
  if (error instanceof SluiceError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_JWT_EXPIRED") {
    return new SluiceError(ErrorCodes.tokenExpired, "token expired", { expose: true });
  }
  if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") {
    const { claim, reason } = error as { claim?: unknown; reason?: unknown };
    const name = typeof claim === "string" && CLAIM_NAMES.has(claim) ? claim : undefined;
    if (name === undefined) return invalid("claim check failed");
    if (reason === "missing") return invalid(`missing ${name} claim`);
    return invalid((reason === "check_failed" ? CLAIM_REASONS[name] : undefined) ?? `bad ${name} claim`);
  }
  return invalid((typeof code === "string" ? REASONS[code] : undefined) ?? "malformed token");
}

export function invalid(reason: string): SluiceError {
  return new SluiceError(ErrorCodes.tokenInvalid, `invalid token: ${reason}`, { expose: true });
}
