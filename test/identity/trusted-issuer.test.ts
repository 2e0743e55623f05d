import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { base64url, decodeJwt, generateKeyPair, SignJWT } from "jose";
import { ErrorCodes, SluiceError } from "../../src/core/index.ts";
import { CI_CLIENT, clientCredentialsToken, type DevIdp, startTestIdp } from "../harness/dev-idp.ts";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";

const segment = (value: unknown) => base64url.encode(JSON.stringify(value));

describe("tokens of a trusted external issuer", () => {
  let idp: DevIdp;
  let f: GatewayFixture;
  const now = () => Math.floor(Date.now() / 1000);

  before(async () => {
    idp = await startTestIdp();
    f = await startGatewayFixture({
      extraConfig: `identity:
  trusted_issuers:
    - issuer: ${idp.issuer}
      audience: sluice
      kind: service
      groups_claim: groups
      group_mapping:
        - { from: deployers, to: engineers }
`,
    });
  });
  after(async () => {
    await f?.stop();
    await idp?.close();
  });

  const claims = (overrides: Record<string, unknown> = {}) => ({
    iss: idp.issuer,
    aud: "sluice",
    sub: "ci-bot",
    groups: ["deployers"],
    iat: now(),
    exp: now() + 300,
    ...overrides,
  });

  async function refused(token: string, reason: string, code: string = ErrorCodes.tokenInvalid) {
    await assert.rejects(f.gateway.identity.credentials.verify(token), (error: unknown) => {
      assert.ok(error instanceof SluiceError, String(error));
      assert.equal(error.message, reason);
      assert.equal(error.code, code);
      assert.equal(error.message.includes(token), false);
      return true;
    });
  }

  test("psql logs in with a client-credentials JWT from the IdP as its password", async () => {
    const token = await clientCredentialsToken(idp);
    assert.equal(decodeJwt(token).iss, idp.issuer);
    const r = await psql(f.conninfo("pg-dev"), token, [
      "-c",
      "CREATE TABLE deployed (id int)",
      "-c",
      "SELECT 'ok'",
    ]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /ok/);
    const principal = await f.gateway.identity.credentials.verify(token);
    assert.equal(principal.user, CI_CLIENT.clientId);
    assert.equal(principal.kind, "service");
    assert.deepEqual(principal.groups, ["engineers"]);
    await f.gateway.drainAuditSinks();
    const events = await f.gateway.store.searchAudit({ user: CI_CLIENT.clientId });
    assert.ok(
      events.some((event) => event.type === "action.allowed"),
      JSON.stringify(events.map((e) => e.type)),
    );
  });

  test("psql is refused with a token for another audience", async () => {
    const token = await clientCredentialsToken(idp, CI_CLIENT, "urn:someone-else");
    assert.equal(decodeJwt(token).aud, "urn:someone-else");
    const r = await psql(f.conninfo("pg-dev"), token, ["-c", "SELECT 1"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid token: wrong audience/);
    assert.equal(r.stderr.includes(token), false);
  });

  test("gateway tokens still work beside trusted issuers", async () => {
    const r = await psql(f.conninfo("pg-dev"), await f.token("erin@corp.example", ["engineers"]), [
      "-c",
      "SELECT 'gateway'",
    ]);
    assert.equal(r.code, 0, r.stderr);
  });

  test("a token signed by the IdP's key is accepted only with the right issuer, audience and lifetime", async () => {
    assert.equal((await f.gateway.identity.credentials.verify(await idp.sign(claims()))).user, "ci-bot");
    await refused(await idp.sign(claims({ aud: "other" })), "invalid token: wrong audience");
    await refused(
      await idp.sign(claims({ exp: now() - 120, iat: now() - 400 })),
      "token expired",
      ErrorCodes.tokenExpired,
    );
    await refused(await idp.sign(claims({ nbf: now() + 3600 })), "invalid token: not yet valid");
    // An issuer nobody trusts goes to the gateway's own verifier, which does not know it either.
    await refused(
      await idp.sign(claims({ iss: "http://127.0.0.1:1" })),
      "invalid token: unknown signing key",
    );
    await refused(await idp.sign(claims({ sub: undefined })), "invalid token: missing sub claim");
    await refused(await idp.sign(claims({ groups: { admin: true } })), "invalid token: bad groups claim");
  });

  test("alg none, HS256 keyed with the public key, unknown kids and foreign keys are refused", async () => {
    const header = { alg: "none", typ: "JWT", kid: idp.kid };
    await refused(`${segment(header)}.${segment(claims())}.`, "invalid token: algorithm not allowed");

    const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: Record<string, string>[] };
    const publicJwk = jwks.keys[0]!;
    for (const secret of [JSON.stringify(publicJwk), publicJwk.x!, `${publicJwk.x}${publicJwk.y}`]) {
      const input = `${segment({ alg: "HS256", typ: "JWT", kid: idp.kid })}.${segment(claims())}`;
      const signature = createHmac("sha256", secret).update(input).digest("base64url");
      await refused(`${input}.${signature}`, "invalid token: algorithm not allowed");
    }

    const stranger = await generateKeyPair("ES256");
    const foreign = (kid: string) =>
      new SignJWT(claims()).setProtectedHeader({ alg: "ES256", kid }).sign(stranger.privateKey);
    await refused(await foreign("no-such-kid"), "invalid token: unknown signing key");
    await refused(await foreign(idp.kid), "invalid token: bad signature");

    const [h, , s] = (await clientCredentialsToken(idp)).split(".");
    await refused(
      `${h}.${segment(claims({ sub: "root", groups: ["admins"] }))}.${s}`,
      "invalid token: bad signature",
    );
  });
});
