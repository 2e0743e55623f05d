import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { exportJWK, exportPKCS8, generateKeyPair, SignJWT } from "jose";
import { type Principal, SluiceError } from "../core/index.ts";
import { AgentTokenError, type AgentTokenEvent, AgentTokens } from "./agent-tokens.ts";
import { PublicKeySet } from "./public-key-set.ts";
import { importSigningKey } from "./signing-key.ts";
import { TokenIssuer } from "./token-issuer.ts";
import { TokenVerifier } from "./token-verifier.ts";
import { type TrustedIssuer, TrustedIssuerVerifier } from "./trusted-issuers.ts";

const SETTINGS = {
  issuer: "sluice",
  audience: "sluice",
  defaultTtlSeconds: 900,
  maxTtlSeconds: 3600,
  leewaySeconds: 0,
};

async function setup() {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const key = await importSigningKey(await exportPKCS8(privateKey));
  const issuer = new TokenIssuer(key, SETTINGS);
  const verifier = new TokenVerifier(await PublicKeySet.of([key.publicJwk]), SETTINGS);
  const events: AgentTokenEvent[] = [];
  const agents = new AgentTokens(issuer, { onEvent: (event) => void events.push(event) });
  return { agents, verifier, events };
}

const alice: Principal = Object.freeze({
  user: "alice@corp.example",
  groups: ["analysts", "oncall"],
  kind: "human",
  loginSessionId: "s".repeat(22),
});

describe("AgentTokens (token exchange for agents)", () => {
  it("mints an agent token acting for the logged-in person, bound to their session", async () => {
    const { agents, verifier, events } = await setup();
    const minted = await agents.exchange({ subject: alice, actor: "copilot", ttlSeconds: 600 });
    const principal = await verifier.verify(minted.accessToken);
    assert.equal(principal.user, "agent:copilot");
    assert.equal(principal.kind, "agent");
    assert.deepEqual(principal.groups, ["analysts", "oncall"]);
    assert.deepEqual(principal.onBehalfOf, { user: "alice@corp.example", groups: ["analysts", "oncall"] });
    assert.equal(principal.loginSessionId, alice.loginSessionId);
    assert.ok(minted.expiresIn > 590 && minted.expiresIn <= 600);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.tokenId, principal.tokenId);
    assert.equal(JSON.stringify(events).includes(minted.accessToken), false);
  });

  it("narrows the agent and the human's groups it may use to the requested subset", async () => {
    const { agents, verifier } = await setup();
    const minted = await agents.exchange({ subject: alice, actor: "copilot", groups: ["analysts"] });
    const principal = await verifier.verify(minted.accessToken);
    assert.deepEqual(principal.groups, ["analysts"]);
    assert.deepEqual(principal.onBehalfOf?.groups, ["analysts"]);
    await assert.rejects(
      agents.exchange({ subject: alice, actor: "copilot", groups: ["analysts", "admins"] }),
      (error: unknown) =>
        error instanceof AgentTokenError &&
        error.oauthError === "invalid_scope" &&
        /not one of your groups: admins/.test(error.message),
    );
  });

  it("refuses agents, services, unbound tokens and bad actor names", async () => {
    const { agents, events } = await setup();
    const refusals: [Principal, string][] = [
      [{ ...alice, kind: "agent", onBehalfOf: { user: "bob", groups: [] } }, "copilot"],
      [{ ...alice, kind: "service" }, "copilot"],
      [{ user: "carol", groups: [], kind: "human" }, "copilot"],
      [{ ...alice, loginSessionId: "key:ABCDEFGHIJKLMNOP" }, "copilot"],
      [alice, "Copilot!"],
      [alice, ""],
    ];
    for (const [subject, actor] of refusals) {
      await assert.rejects(agents.exchange({ subject, actor }), (error: unknown) => {
        assert.ok(error instanceof SluiceError && error.expose, String(error));
        return true;
      });
    }
    await assert.rejects(agents.exchange({ subject: alice, actor: "copilot", ttlSeconds: -5 }));
    assert.equal(events.length, 0);
  });

  it("hands out nothing when the exchange cannot be recorded", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const key = await importSigningKey(await exportPKCS8(privateKey));
    const agents = new AgentTokens(new TokenIssuer(key, SETTINGS), {
      onEvent: async () => {
        throw new Error("audit store down");
      },
    });
    await assert.rejects(agents.exchange({ subject: alice, actor: "copilot" }), /audit store down/);
  });
});

describe("trusted issuers' RFC 8693 actor claim", () => {
  let server: Server;
  let base = "";
  let keyPair: Awaited<ReturnType<typeof generateKeyPair>>;

  before(async () => {
    keyPair = await generateKeyPair("ES256", { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(keyPair.publicKey)), kid: "k1", alg: "ES256", use: "sig" }] };
    server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      if (req.url === "/.well-known/openid-configuration") {
        return res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }));
      }
      res.end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const trusted = (overrides: Partial<TrustedIssuer> = {}): TrustedIssuer => ({
    issuer: base,
    audience: "sluice",
    kind: "human",
    userClaim: "sub",
    groupsClaim: "groups",
    groupMapping: [
      { from: "data-*", to: "analysts" },
      { from: "bots", to: "agents" },
    ],
    algorithms: ["ES256"],
    actClaim: "act",
    ...overrides,
  });
  const token = (claims: Record<string, unknown>) =>
    new SignJWT({ sub: "alice", groups: ["data-team"], ...claims })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(base)
      .setAudience("sluice")
      .setExpirationTime("5m")
      .sign(keyPair.privateKey);

  it("makes the actor an agent acting for the subject, with the subject's mapped groups", async () => {
    const verifier = new TrustedIssuerVerifier([trusted()], { leewaySeconds: 0 });
    const principal = await verifier.verify(
      await token({ act: { sub: "copilot", groups: ["bots", "root"] } }),
      base,
    );
    assert.equal(principal.user, "copilot");
    assert.equal(principal.kind, "agent");
    assert.deepEqual(principal.groups, ["agents"]);
    assert.deepEqual(principal.onBehalfOf, { user: "alice", groups: ["analysts"] });
    assert.equal(principal.loginSessionId, undefined);
    // Without the claim, the token is read as before.
    const plain = await verifier.verify(await token({}), base);
    assert.deepEqual(
      { user: plain.user, kind: plain.kind, obo: plain.onBehalfOf },
      { user: "alice", kind: "human", obo: undefined },
    );
  });

  it("reads a configured claim name and refuses malformed actor claims", async () => {
    const verifier = new TrustedIssuerVerifier([trusted({ actClaim: "may_act_for" })], { leewaySeconds: 0 });
    const principal = await verifier.verify(await token({ may_act_for: { sub: "helper" } }), base);
    assert.equal(principal.user, "helper");
    assert.deepEqual(principal.groups, []);
    for (const bad of [
      "copilot",
      ["copilot"],
      { sub: "" },
      { sub: "alice" },
      { sub: "x", groups: { a: 1 } },
    ]) {
      await assert.rejects(verifier.verify(await token({ may_act_for: bad }), base), (error: unknown) => {
        assert.ok(error instanceof SluiceError);
        assert.equal(error.message, "invalid token: bad may_act_for claim");
        return true;
      });
    }
  });

  it("takes the human's groups from their live login session when configured, or refuses", async () => {
    const sessions = new Map([["alice", { sessionId: "S1", groups: ["engineers"] }]]);
    const verifier = new TrustedIssuerVerifier([trusted({ onBehalfOfGroups: "login_session" })], {
      leewaySeconds: 0,
      humanSession: async (user) => sessions.get(user),
    });
    const principal = await verifier.verify(await token({ act: { sub: "copilot" } }), base);
    assert.deepEqual(principal.onBehalfOf, { user: "alice", groups: ["engineers"] });
    assert.equal(principal.loginSessionId, "S1");
    sessions.clear();
    await assert.rejects(
      verifier.verify(await token({ act: { sub: "copilot" } }), base),
      /the user the agent acts for is not logged in/,
    );
  });
});
