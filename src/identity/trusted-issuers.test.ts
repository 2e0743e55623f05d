import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { SluiceError } from "../core/index.ts";
import { TrustedIssuerVerifier } from "./trusted-issuers.ts";

/** A fake issuer whose discovery document the test controls. */
describe("TrustedIssuerVerifier discovery", () => {
  let server: Server;
  let base = "";
  let document: Record<string, unknown> = {};
  let jwks: unknown = { keys: [] };
  let keyPair: Awaited<ReturnType<typeof generateKeyPair>>;

  before(async () => {
    keyPair = await generateKeyPair("ES256", { extractable: true });
    jwks = { keys: [{ ...(await exportJWK(keyPair.publicKey)), kid: "k1", alg: "ES256", use: "sig" }] };
    server = createServer((req, res) => {
      if (req.url === "/.well-known/openid-configuration") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(document));
      }
      if (req.url === "/redirect/.well-known/openid-configuration") {
        res.writeHead(302, { location: `${base}/.well-known/openid-configuration` });
        return res.end();
      }
      if (req.url === "/jwks") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(jwks));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const settings = (issuer: string) => ({
    issuer,
    audience: "sluice",
    kind: "service" as const,
    userClaim: "sub",
    groupsClaim: "groups",
    groupMapping: undefined,
    algorithms: ["ES256"],
  });
  const token = (iss: string) =>
    new SignJWT({ sub: "bot", groups: ["g"] })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(iss)
      .setAudience("sluice")
      .setExpirationTime("5m")
      .sign(keyPair.privateKey);

  async function refused(verifier: TrustedIssuerVerifier, iss: string, message: string) {
    await assert.rejects(verifier.verify(await token(iss), iss), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.message, message);
      return true;
    });
  }

  it("verifies with keys from the discovery document", async () => {
    document = { issuer: base, jwks_uri: `${base}/jwks` };
    const verifier = new TrustedIssuerVerifier([settings(base)], { leewaySeconds: 0 });
    const principal = await verifier.verify(await token(base), base);
    assert.deepEqual(
      { ...principal, tokenId: undefined, expiresAt: undefined },
      {
        user: "bot",
        groups: ["g"],
        kind: "service",
        tokenId: undefined,
        expiresAt: undefined,
      },
    );
  });

  it("refuses a document naming another issuer, non-loopback http keys, and redirects", async () => {
    const unavailable = "invalid token: the issuer's keys are unavailable";
    document = { issuer: "https://impostor.example", jwks_uri: `${base}/jwks` };
    await refused(new TrustedIssuerVerifier([settings(base)], { leewaySeconds: 0 }), base, unavailable);
    document = { issuer: base, jwks_uri: "http://keys.example/jwks" };
    await refused(new TrustedIssuerVerifier([settings(base)], { leewaySeconds: 0 }), base, unavailable);
    document = { issuer: `${base}/redirect`, jwks_uri: `${base}/jwks` };
    await refused(
      new TrustedIssuerVerifier([settings(`${base}/redirect`)], { leewaySeconds: 0 }),
      `${base}/redirect`,
      unavailable,
    );
  });

  it("remembers a failed discovery for a while instead of hammering the issuer", async () => {
    document = { issuer: "https://impostor.example", jwks_uri: `${base}/jwks` };
    const verifier = new TrustedIssuerVerifier([settings(base)], { leewaySeconds: 0, retryAfterMs: 60_000 });
    await refused(verifier, base, "invalid token: the issuer's keys are unavailable");
    document = { issuer: base, jwks_uri: `${base}/jwks` };
    await refused(verifier, base, "invalid token: the issuer's keys are unavailable");
  });

  it("refuses to be configured with none or HMAC algorithms", () => {
    for (const alg of ["none", "HS256"]) {
      assert.throws(
        () => new TrustedIssuerVerifier([{ ...settings(base), algorithms: [alg] }], { leewaySeconds: 0 }),
        RangeError,
      );
    }
  });
});
