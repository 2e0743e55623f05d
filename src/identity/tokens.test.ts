import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import { PublicKeySet } from "./public-key-set.ts";
import { importSigningKey, type SigningKey } from "./signing-key.ts";
import { TokenIssuer } from "./token-issuer.ts";
import type { TokenSettings } from "./token-settings.ts";
import { TokenVerifier } from "./token-verifier.ts";

const SETTINGS: TokenSettings = {
  issuer: "sluice",
  audience: "sluice",
  defaultTtlSeconds: 900,
  maxTtlSeconds: 43_200,
  leewaySeconds: 30,
};
const NOW = new Date("2025-06-01T12:00:00Z");
const NOW_S = NOW.getTime() / 1000;
const at = (date: Date) => () => date;
const shifted = (seconds: number) => at(new Date(NOW.getTime() + seconds * 1000));

async function newKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return importSigningKey(await exportPKCS8(privateKey));
}

async function setup(settings: TokenSettings = SETTINGS) {
  const key = await newKey();
  const keys = await PublicKeySet.of([key.publicJwk]);
  const issuer = new TokenIssuer(key, settings, { now: at(NOW) });
  const verifier = new TokenVerifier(keys, settings, { now: at(NOW) });
  return { key, keys, issuer, verifier };
}

/** Signs arbitrary claims with `key` the way an attacker holding it (or a bug) might. */
function sign(key: SigningKey, claims: JWTPayload, header: { kid?: string } = { kid: key.kid }) {
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", ...header }).sign(key.privateKey);
}

const validClaims = (): JWTPayload => ({
  iss: "sluice",
  aud: "sluice",
  sub: "alice@example.com",
  groups: ["dba"],
  kind: "human",
  iat: NOW_S,
  nbf: NOW_S,
  exp: NOW_S + 600,
});

function encodeSegment(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

async function assertRefused(verifier: TokenVerifier, token: string, code: string, message: string) {
  await assert.rejects(verifier.verify(token), (error: unknown) => {
    assert.ok(error instanceof SluiceError, `expected SluiceError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    assert.equal(error.expose, true);
    if (typeof token === "string" && token.length > 0) assert.equal(error.message.includes(token), false);
    return true;
  });
}

const refusedAsInvalid = (verifier: TokenVerifier, token: string, reason: string) =>
  assertRefused(verifier, token, ErrorCodes.tokenInvalid, `invalid token: ${reason}`);

describe("TokenIssuer and TokenVerifier", () => {
  it("round-trips a human principal", async () => {
    const { issuer, verifier, key } = await setup();
    const token = await issuer.issue({ user: "alice@example.com", groups: ["dba", "oncall"], kind: "human" });
    const principal = await verifier.verify(token);
    assert.deepEqual(
      { ...principal, tokenId: undefined },
      {
        user: "alice@example.com",
        groups: ["dba", "oncall"],
        kind: "human",
        tokenId: undefined,
        expiresAt: NOW_S + 900,
      },
    );
    assert.match(principal.tokenId ?? "", /^[A-Za-z0-9_-]{22}$/);

    assert.deepEqual(decodeProtectedHeader(token), { alg: "ES256", kid: key.kid, typ: "JWT" });
    const claims = decodeJwt(token);
    assert.deepEqual(Object.keys(claims).sort(), [
      "aud",
      "exp",
      "groups",
      "iat",
      "iss",
      "jti",
      "kind",
      "nbf",
      "sub",
    ]);
    assert.equal(claims.iss, "sluice");
    assert.equal(claims.aud, "sluice");
    assert.equal(claims.iat, NOW_S);
    assert.equal(claims.nbf, NOW_S);
  });

  it("carries on-behalf-of in the obo claim", async () => {
    const { issuer, verifier } = await setup();
    const token = await issuer.issue({
      user: "agent:release-bot",
      groups: ["agents"],
      kind: "agent",
      ttlSeconds: 60,
      onBehalfOf: { user: "bob@example.com", groups: ["dev"] },
    });
    assert.deepEqual(decodeJwt(token).obo, { sub: "bob@example.com", groups: ["dev"] });
    const principal = await verifier.verify(token);
    assert.equal(principal.user, "agent:release-bot");
    assert.equal(principal.kind, "agent");
    assert.deepEqual(principal.onBehalfOf, { user: "bob@example.com", groups: ["dev"] });
    assert.equal(principal.expiresAt, NOW_S + 60);
  });

  it("uses the default lifetime, caps at the maximum and draws a fresh jti", async () => {
    const { issuer } = await setup();
    const lifetime = (token: string) => {
      const { exp = 0, iat = 0 } = decodeJwt(token);
      return exp - iat;
    };
    const first = await issuer.issue({ user: "svc", groups: [], kind: "service" });
    const second = await issuer.issue({ user: "svc", groups: [], kind: "service", ttlSeconds: 10 * 86_400 });
    assert.equal(lifetime(first), 900);
    assert.equal(lifetime(second), 43_200);
    assert.notEqual(decodeJwt(first).jti, decodeJwt(second).jti);
  });

  it("refuses to issue nonsense", async () => {
    const { issuer } = await setup();
    for (const ttlSeconds of [0, -5, 1.5, Number.NaN]) {
      await assert.rejects(issuer.issue({ user: "u", groups: [], kind: "human", ttlSeconds }), RangeError);
    }
    await assert.rejects(issuer.issue({ user: "", groups: [], kind: "human" }), RangeError);
  });

  it("verifies tokens of every key in the set, until a key is removed", async () => {
    const { issuer, verifier, keys, key } = await setup();
    const next = await newKey();
    assert.equal(await keys.add(next.publicJwk), next.kid);
    const nextIssuer = new TokenIssuer(next, SETTINGS, { now: at(NOW) });
    const oldToken = await issuer.issue({ user: "a", groups: [], kind: "human" });
    const newToken = await nextIssuer.issue({ user: "b", groups: [], kind: "human" });
    assert.equal((await verifier.verify(oldToken)).user, "a");
    assert.equal((await verifier.verify(newToken)).user, "b");
    assert.equal(keys.remove(key.kid), true);
    await refusedAsInvalid(verifier, oldToken, "unknown signing key");
    assert.equal((await verifier.verify(newToken)).user, "b");
  });

  it("accepts a token within the leeway", async () => {
    const { issuer, keys } = await setup();
    const token = await issuer.issue({ user: "a", groups: [], kind: "human", ttlSeconds: 60 });
    const late = new TokenVerifier(keys, SETTINGS, { now: shifted(60 + 20) });
    assert.equal((await late.verify(token)).user, "a");
    const early = new TokenVerifier(keys, SETTINGS, { now: shifted(-20) });
    assert.equal((await early.verify(token)).user, "a");
  });
});

describe("TokenVerifier rejects", () => {
  it("expired tokens with SLUICE_IDENTITY_TOKEN_EXPIRED", async () => {
    const { issuer, keys } = await setup();
    const token = await issuer.issue({ user: "a", groups: [], kind: "human", ttlSeconds: 60 });
    const later = new TokenVerifier(keys, SETTINGS, { now: shifted(60 + 31) });
    await assertRefused(later, token, ErrorCodes.tokenExpired, "token expired");
  });

  it("tokens older than the maximum lifetime, whatever their exp", async () => {
    const { key, keys } = await setup();
    const token = await sign(key, { ...validClaims(), exp: NOW_S + 30 * 86_400 });
    const later = new TokenVerifier(keys, SETTINGS, { now: shifted(43_200 + 31) });
    await assertRefused(later, token, ErrorCodes.tokenExpired, "token expired");
  });

  it("tokens that are not yet valid", async () => {
    const { key, verifier } = await setup();
    await refusedAsInvalid(
      verifier,
      await sign(key, { ...validClaims(), nbf: NOW_S + 3600 }),
      "not yet valid",
    );
    await refusedAsInvalid(
      verifier,
      await sign(key, { ...validClaims(), iat: NOW_S + 3600 }),
      "issued in the future",
    );
  });

  it("alg none", async () => {
    const { key, verifier } = await setup();
    const token = `${encodeSegment({ alg: "none", typ: "JWT", kid: key.kid })}.${encodeSegment(validClaims())}.`;
    await refusedAsInvalid(verifier, token, "algorithm not allowed");
  });

  it("HS256 signed with the public key bytes (algorithm confusion)", async () => {
    const { key, verifier } = await setup();
    const publicKey = await importJWK(key.publicJwk, "ES256", { extractable: true });
    assert.ok(!(publicKey instanceof Uint8Array));
    const spki = await exportSPKI(publicKey);
    const rawPoint = Buffer.concat([
      Buffer.from([4]),
      base64url.decode(key.publicJwk.x),
      base64url.decode(key.publicJwk.y),
    ]);
    for (const secret of [Buffer.from(spki), rawPoint, Buffer.from(JSON.stringify(key.publicJwk))]) {
      const signingInput = `${encodeSegment({ alg: "HS256", typ: "JWT", kid: key.kid })}.${encodeSegment(validClaims())}`;
      const signature = createHmac("sha256", secret).update(signingInput).digest("base64url");
      await refusedAsInvalid(verifier, `${signingInput}.${signature}`, "algorithm not allowed");
    }
  });

  it("other asymmetric algorithms under a known kid", async () => {
    const { key, verifier } = await setup();
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const token = await new SignJWT(validClaims())
      .setProtectedHeader({ alg: "RS256", kid: key.kid })
      .sign(privateKey);
    await refusedAsInvalid(verifier, token, "algorithm not allowed");
  });

  it("unknown and missing kids", async () => {
    const { key, verifier } = await setup();
    const stranger = await newKey();
    await refusedAsInvalid(verifier, await sign(stranger, validClaims()), "unknown signing key");
    await refusedAsInvalid(verifier, await sign(key, validClaims(), {}), "missing key id");
  });

  it("bad signatures: another key under our kid, or a tampered payload", async () => {
    const { key, verifier, issuer } = await setup();
    const stranger = await newKey();
    await refusedAsInvalid(verifier, await sign(stranger, validClaims(), { kid: key.kid }), "bad signature");

    const [header, , signature] = (await issuer.issue({ user: "alice", groups: [], kind: "human" })).split(
      ".",
    );
    const forged = `${header}.${encodeSegment({ ...validClaims(), sub: "root", groups: ["admin"] })}.${signature}`;
    await refusedAsInvalid(verifier, forged, "bad signature");
  });

  it("wrong issuer or audience", async () => {
    const { key, verifier } = await setup();
    await refusedAsInvalid(
      verifier,
      await sign(key, { ...validClaims(), iss: "someone-else" }),
      "wrong issuer",
    );
    await refusedAsInvalid(
      verifier,
      await sign(key, { ...validClaims(), aud: "other-service" }),
      "wrong audience",
    );
    const otherIssuer = new TokenIssuer(key, { ...SETTINGS, issuer: "staging" }, { now: at(NOW) });
    const token = await otherIssuer.issue({ user: "a", groups: [], kind: "human" });
    await refusedAsInvalid(verifier, token, "wrong issuer");
  });

  it("missing required claims and malformed Sluice claims", async () => {
    const { key, verifier } = await setup();
    for (const claim of ["sub", "exp", "iat"] as const) {
      const claims = validClaims();
      delete claims[claim];
      await refusedAsInvalid(verifier, await sign(key, claims), `missing ${claim} claim`);
    }
    await refusedAsInvalid(verifier, await sign(key, { ...validClaims(), kind: "root" }), "bad kind claim");
    await refusedAsInvalid(
      verifier,
      await sign(key, { ...validClaims(), groups: "dba" }),
      "bad groups claim",
    );
    await refusedAsInvalid(verifier, await sign(key, { ...validClaims(), obo: "bob" }), "bad obo claim");
    await refusedAsInvalid(
      verifier,
      await sign(key, { ...validClaims(), exp: "never" as unknown as number }),
      "bad exp claim",
    );
  });

  it("garbage", async () => {
    const { verifier } = await setup();
    for (const token of [
      "",
      "garbage",
      "a.b.c",
      "...",
      "eyJhbGciOiJFUzI1NiJ9.e30",
      `${"a".repeat(9000)}.b.c`,
    ]) {
      await refusedAsInvalid(verifier, token, "malformed token");
    }
    await refusedAsInvalid(verifier, undefined as unknown as string, "malformed token");
  });
});

describe("PublicKeySet", () => {
  it("refuses private keys and keys for other algorithms", async () => {
    const set = new PublicKeySet();
    const privateJwk = { ...(await newKey()).publicJwk, d: "AAAA" };
    await assert.rejects(set.add(privateJwk), /private key material/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
    await assert.rejects(set.add(rsa), /EC P-256/);
    await assert.rejects(set.add({ ...(await newKey()).publicJwk, alg: "ES384" }), /ES256/);
    assert.deepEqual(set.kids, []);
  });
});
