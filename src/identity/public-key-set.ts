import { type CryptoKey, calculateJwkThumbprint, importJWK, type JWK } from "jose";
import { SIGNING_ALGORITHM } from "./signing-key.ts";

/**
 * The public keys tokens may be signed with, by kid. Holding several lets a rotated-out key keep
 * verifying the tokens it signed until they expire.
 */
export class PublicKeySet {
  readonly #keys = new Map<string, CryptoKey>();

  static async of(jwks: readonly JWK[]): Promise<PublicKeySet> {
    const set = new PublicKeySet();
    for (const jwk of jwks) await set.add(jwk);
    return set;
  }

  /**
   * Adds a public P-256 JWK and returns its kid: the JWK's own `kid`, or else its RFC 7638
   * thumbprint. Rejects private keys and keys for other algorithms.
   */
  async add(jwk: JWK): Promise<string> {
    if (jwk.d !== undefined) throw new TypeError("expected a public key, got private key material");
    if (jwk.kty !== "EC" || jwk.crv !== "P-256" || jwk.x === undefined || jwk.y === undefined) {
      throw new TypeError("expected an EC P-256 public key");
    }
    if (jwk.alg !== undefined && jwk.alg !== SIGNING_ALGORITHM) {
      throw new TypeError(`expected a key for ${SIGNING_ALGORITHM}`);
    }
    const publicJwk = { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
    const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk, "sha256"));
    const key = await importJWK(publicJwk, SIGNING_ALGORITHM);
    if (!isCryptoKey(key)) throw new TypeError("expected an EC P-256 public key");
    this.#keys.set(kid, key);
    return kid;
  }

  remove(kid: string): boolean {
    return this.#keys.delete(kid);
  }

  get(kid: string): CryptoKey | undefined {
    return this.#keys.get(kid);
  }

  get kids(): readonly string[] {
    return [...this.#keys.keys()];
  }
}

function isCryptoKey(key: CryptoKey | Uint8Array): key is CryptoKey {
  return !(key instanceof Uint8Array);
}
