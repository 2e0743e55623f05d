import { decodeJwt } from "jose";
import type { Principal } from "../core/index.ts";
import type { TokenVerifier } from "./token-verifier.ts";
import { invalid } from "./token-verifier.ts";
import type { TrustedIssuerVerifier } from "./trusted-issuers.ts";

/** Answers whether a login session (or service-account key) still stands. */
export interface RevocationCheck {
  /** True when the session is unknown, revoked or past its end. */
  isRevoked(loginSessionId: string): Promise<boolean> | boolean;
}

/**
 * Every credential a client may present as its password or bearer token: a gateway token, or a
 * JWT of a trusted external issuer. The unverified `iss` only picks the verifier; that verifier
 * then checks the issuer, audience, signature and lifetime. Tokens bound to a login session
 * (gateway tokens issued from one, agents acting for a logged-in user) are refused once the
 * session is revoked or over.
 */
export class CredentialVerifier {
  readonly #gateway: TokenVerifier;
  readonly #gatewayIssuer: string;
  readonly #trusted: TrustedIssuerVerifier | undefined;
  readonly #revocation: RevocationCheck | undefined;

  constructor(options: {
    readonly gateway: TokenVerifier;
    readonly gatewayIssuer: string;
    readonly trusted?: TrustedIssuerVerifier;
    readonly revocation?: RevocationCheck;
  }) {
    this.#gateway = options.gateway;
    this.#gatewayIssuer = options.gatewayIssuer;
    this.#trusted = options.trusted;
    this.#revocation = options.revocation;
  }

  async verify(credential: string): Promise<Principal> {
    const iss = unverifiedIssuer(credential);
    const principal =
      iss !== undefined && iss !== this.#gatewayIssuer && this.#trusted?.has(iss)
        ? await this.#trusted.verify(credential, iss)
        : await this.#gateway.verify(credential);
    await this.assertCurrent(principal);
    return principal;
  }

  /** Throws when the principal's login session has been revoked or is over. */
  async assertCurrent(principal: Principal): Promise<void> {
    if (principal.loginSessionId === undefined || this.#revocation === undefined) return;
    if (await this.#revocation.isRevoked(principal.loginSessionId)) throw invalid("session revoked");
  }
}

function unverifiedIssuer(credential: string): string | undefined {
  if (typeof credential !== "string" || credential.length > 16 * 1024) return undefined;
  try {
    const { iss } = decodeJwt(credential);
    return typeof iss === "string" ? iss : undefined;
  } catch {
    return undefined;
  }
}
