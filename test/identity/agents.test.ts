import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { CredentialCache } from "../../src/cli/credential-cache.ts";
import { browse, CookieJar, type DevIdp, GATEWAY_CLIENT, startTestIdp } from "../harness/dev-idp.ts";
import { freePort } from "../harness/free-port.ts";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";
import { runProcess } from "../harness/run-process.ts";
import { REPO_ROOT } from "../harness/sluice-cli.ts";

const SECRET_ENV = "SLUICE_TEST_AGENT_IDP_SECRET";

/**
 * Agents reach the database only through rules that look at who they act for: their own groups
 * (principal.groups) are empty for trusted-issuer agents, so `agents-for-analysts` is the only
 * way in, and agents never write, whoever they act for.
 */
const AGENT_POLICY = `apiVersion: sluice/v1
rules:
  - id: analysts-read
    match: { protocols: [postgres], groups: [analysts] }
    when: sql.parsed && !sql.dynamic && size(sql.writes) == 0
    effect: allow
  - id: engineers-write
    match: { protocols: [postgres], groups: [engineers] }
    when: sql.parsed && !sql.dynamic
    effect: allow
  - id: agents-for-analysts
    match: { protocols: [postgres], principal_kind: [agent] }
    when: >-
      principal.on_behalf_of != null && "analysts" in principal.on_behalf_of.groups &&
      sql.parsed && !sql.dynamic && size(sql.writes) == 0
    effect: allow
  - id: agents-never-write
    match: { protocols: [postgres], principal_kind: [agent] }
    when: size(sql.writes) > 0
    effect: deny
    reason: "{{principal.user}} acting for {{principal.on_behalf_of.user}} may not write"
`;

interface Tokens {
  access_token: string;
  refresh_token: string;
  user: string;
  groups: string[];
}

describe("agents acting for a person", () => {
  let idp: DevIdp;
  /** A second issuer whose delegated tokens carry the person's groups themselves. */
  let agentIssuer: DevIdp;
  let f: GatewayFixture;
  let gw = "";

  before(async () => {
    const idpPort = await freePort();
    const agentPort = await freePort();
    process.env[SECRET_ENV] = GATEWAY_CLIENT.clientSecret;
    f = await startGatewayFixture({
      policy: AGENT_POLICY,
      extraConfig: `identity:
  providers:
    - name: dev
      type: oidc
      issuer: http://127.0.0.1:${idpPort}
      client_id: ${GATEWAY_CLIENT.clientId}
      client_secret: env:${SECRET_ENV}
      group_mapping:
        - { from: "data-*", to: analysts }
        - { from: eng-oncall, to: oncall }
        - { from: eng-platform, to: engineers }
  trusted_issuers:
    # The login IdP also vouches for agents; the person's groups come from their login here.
    - issuer: http://127.0.0.1:${idpPort}
      audience: sluice
      kind: human
      user_claim: email
      on_behalf_of_groups: login_session
    - issuer: http://127.0.0.1:${agentPort}
      audience: sluice
      kind: service
      user_claim: email
      group_mapping:
        - { from: "data-*", to: analysts }
`,
    });
    gw = f.gateway.publicUrl;
    idp = await startTestIdp({ port: idpPort, gatewayOrigin: gw });
    agentIssuer = await startTestIdp({ port: agentPort });
  });
  after(async () => {
    await f?.stop();
    await idp?.close();
    await agentIssuer?.close();
    delete process.env[SECRET_ENV];
  });

  /** A browser login, then the session cookie refreshed into tokens. */
  async function login(user: string): Promise<Tokens> {
    const jar = new CookieJar();
    await browse(`${gw}/login/dev?redirect=/whoami`, {
      login: user,
      password: "demo",
      jar,
      stopAt: `${gw}/whoami`,
    });
    const response = await fetch(`${gw}/token/refresh`, {
      method: "POST",
      headers: { cookie: `sluice_session=${jar.get(gw, "sluice_session")}` },
    });
    assert.equal(response.status, 200);
    return (await response.json()) as Tokens;
  }

  async function exchange(body: Record<string, unknown>) {
    const response = await fetch(`${gw}/token/exchange`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", ...body }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const now = () => Math.floor(Date.now() / 1000);
  const delegated = (issuer: DevIdp, claims: Record<string, unknown>) =>
    issuer.sign({ iss: issuer.issuer, aud: "sluice", iat: now(), exp: now() + 300, ...claims });

  test("a logged-in person exchanges their token for an agent's; policy sees kind agent and who it acts for", async () => {
    const bob = await login("bob");
    assert.deepEqual(bob.groups, ["engineers", "oncall"]);
    const minted = await exchange({ subject_token: bob.access_token, actor: "copilot", expires_in: 600 });
    assert.equal(minted.status, 200, JSON.stringify(minted.body));
    assert.equal(minted.body.issued_token_type, "urn:ietf:params:oauth:token-type:access_token");
    assert.equal(minted.body.user, "agent:copilot");
    assert.equal(minted.body.kind, "agent");
    assert.deepEqual(minted.body.on_behalf_of, { user: "bob@example.com", groups: ["engineers", "oncall"] });
    const agentToken = minted.body.access_token as string;
    assert.equal(decodeJwt(agentToken).sid, decodeJwt(bob.access_token).sid);

    // Bob himself may write; his agent, with the same groups, may not: the agent rule sees it.
    const human = await psql(f.conninfo("pg-dev"), bob.access_token, ["-c", "CREATE TABLE bobs (id int)"]);
    assert.equal(human.code, 0, human.stderr);
    const read = await psql(f.conninfo("pg-dev"), agentToken, ["-c", "SELECT count(*) FROM bobs"]);
    assert.equal(read.code, 0, read.stderr);
    const write = await psql(f.conninfo("pg-dev"), agentToken, ["-c", "INSERT INTO bobs VALUES (1)"]);
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /agent:copilot acting for bob@example\.com may not write/);

    await f.gateway.drainAuditSinks();
    const denied = (await f.gateway.store.searchAudit({ user: "agent:copilot", type: "action.denied" })).at(
      -1,
    );
    assert.ok(denied, "the denial is in the audit trail");
    const principal = (denied.data as { principal?: Record<string, unknown> }).principal;
    assert.equal(principal?.kind, "agent");
    assert.deepEqual(principal?.on_behalf_of, { user: "bob@example.com", groups: ["engineers", "oncall"] });
    const exchanged = await f.gateway.store.searchAudit({ type: "token.exchanged", user: "bob@example.com" });
    assert.equal(exchanged.length, 1);
    assert.deepEqual(
      { ...exchanged[0]?.data, login_session: undefined, token_id: undefined, expires_at: undefined },
      {
        grant: "token_exchange",
        user: "agent:copilot",
        kind: "agent",
        groups: ["engineers", "oncall"],
        on_behalf_of: { user: "bob@example.com", groups: ["engineers", "oncall"] },
        login_session: undefined,
        token_id: undefined,
        expires_at: undefined,
      },
    );
    assert.equal(exchanged[0]?.data.token_id, decodeJwt(agentToken).jti);
    assert.equal(JSON.stringify(exchanged).includes(agentToken.split(".")[2]!), false);
  });

  test("scoped down, the agent carries only the asked groups; the person's logout ends its token", async () => {
    const alice = await login("alice");
    const narrow = await exchange({ subject_token: alice.access_token, actor: "notebook", groups: [] });
    assert.equal(narrow.status, 200, JSON.stringify(narrow.body));
    assert.deepEqual(narrow.body.on_behalf_of, { user: "alice@example.com", groups: [] });
    const narrowRead = await psql(f.conninfo("pg-dev"), narrow.body.access_token as string, [
      "-c",
      "SELECT 1",
    ]);
    assert.notEqual(narrowRead.code, 0);
    assert.match(narrowRead.stderr, /no-rule-allowed/);

    const tooWide = await exchange({
      subject_token: alice.access_token,
      actor: "notebook",
      groups: "analysts engineers",
    });
    assert.equal(tooWide.status, 400);
    assert.equal(tooWide.body.error, "invalid_scope");

    const full = await exchange({ subject_token: alice.access_token, actor: "notebook" });
    const agentToken = full.body.access_token as string;
    const read = await psql(f.conninfo("pg-dev"), agentToken, ["-c", "SELECT 'agent read'"]);
    assert.equal(read.code, 0, read.stderr);

    // Delegation does not chain, and nobody but a logged-in person may exchange.
    const chained = await exchange({ subject_token: agentToken, actor: "sub-agent" });
    assert.equal(chained.status, 400);
    const breakGlass = await exchange({
      subject_token: await f.token("root@corp.example", ["engineers"]),
      actor: "x",
    });
    assert.equal(breakGlass.status, 400);
    const garbage = await exchange({ subject_token: "not-a-token", actor: "x" });
    assert.equal(garbage.status, 401);

    const logout = await fetch(`${gw}/logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: alice.refresh_token }),
    });
    assert.equal(logout.status, 200);
    const after = await psql(f.conninfo("pg-dev"), agentToken, ["-c", "SELECT 1"]);
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /session revoked/);
  });

  test("a trusted issuer's token with an RFC 8693 act claim is an agent acting for its subject", async () => {
    const forAnalyst = await delegated(agentIssuer, {
      sub: "u-123",
      email: "carol@example.com",
      groups: ["data-science"],
      act: { sub: "ci-copilot" },
    });
    const principal = await f.gateway.identity.credentials.verify(forAnalyst);
    assert.equal(principal.user, "ci-copilot");
    assert.equal(principal.kind, "agent");
    assert.deepEqual(principal.groups, []);
    assert.deepEqual(principal.onBehalfOf, { user: "carol@example.com", groups: ["analysts"] });

    const read = await psql(f.conninfo("pg-dev"), forAnalyst, ["-c", "SELECT 'for carol'"]);
    assert.equal(read.code, 0, read.stderr);
    assert.match(read.stdout, /for carol/);
    const write = await psql(f.conninfo("pg-dev"), forAnalyst, ["-c", "CREATE TABLE nope (id int)"]);
    assert.match(write.stderr, /ci-copilot acting for carol@example\.com may not write/);

    const forNobody = await delegated(agentIssuer, {
      email: "dan@example.com",
      groups: ["sales"],
      act: { sub: "ci-copilot" },
    });
    const refused = await psql(f.conninfo("pg-dev"), forNobody, ["-c", "SELECT 1"]);
    assert.notEqual(refused.code, 0);

    const malformed = await delegated(agentIssuer, { email: "carol@example.com", act: "ci-copilot" });
    const bad = await psql(f.conninfo("pg-dev"), malformed, ["-c", "SELECT 1"]);
    assert.match(bad.stderr, /invalid token: bad act claim/);
  });

  test("with on_behalf_of_groups: login_session, the person must be logged in, and their groups come from it", async () => {
    const token = () =>
      delegated(idp, {
        sub: "alice",
        email: "alice@example.com",
        // Ignored in this mode: the groups come from Alice's login at the gateway.
        groups: ["eng-platform"],
        act: { sub: "assistant" },
      });
    // Alice's earlier session ended at logout (previous test): no live login, no agent.
    await assert.rejects(f.gateway.identity.credentials.verify(await token()), /is not logged in/);

    const alice = await login("alice");
    const agentToken = await token();
    const principal = await f.gateway.identity.credentials.verify(agentToken);
    assert.deepEqual(principal.onBehalfOf, { user: "alice@example.com", groups: ["analysts"] });
    assert.equal(principal.loginSessionId, decodeJwt(alice.access_token).sid);
    const read = await psql(f.conninfo("pg-dev"), agentToken, ["-c", "SELECT 'assistant for alice'"]);
    assert.equal(read.code, 0, read.stderr);

    await fetch(`${gw}/logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: alice.refresh_token }),
    });
    const after = await psql(f.conninfo("pg-dev"), agentToken, ["-c", "SELECT 1"]);
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /not logged in|session revoked/);
  });

  test("sluice token exchange --actor mints an agent token from the cached login", async () => {
    const configDir = mkdtempSync(join(tmpdir(), "sluice-agent-cli-"));
    try {
      const bob = await login("bob");
      await new CredentialCache(join(configDir, "credentials.json")).put(gw, {
        accessToken: bob.access_token,
        refreshToken: bob.refresh_token,
        expiresAt: now() + 600,
        sessionExpiresAt: now() + 3600,
        user: bob.user,
        groups: bob.groups,
      });
      const run = (args: string[]) =>
        runProcess(process.execPath, ["--import", "tsx", "src/cli/main.ts", "token", "exchange", ...args], {
          cwd: REPO_ROOT,
          env: { ...process.env, NO_COLOR: "1", SLUICE_CONFIG_DIR: configDir },
        });
      const result = await run(["--actor", "cli-agent", "--groups", "oncall", "--ttl", "5m"]);
      assert.equal(result.code, 0, result.stderr);
      const claims = decodeJwt(result.stdout.trim());
      assert.equal(claims.sub, "agent:cli-agent");
      assert.equal(claims.kind, "agent");
      assert.deepEqual(claims.groups, ["oncall"]);
      assert.deepEqual(claims.obo, { sub: "bob@example.com", groups: ["oncall"] });
      assert.ok((claims.exp ?? 0) - now() <= 300);
      assert.match(result.stderr, /agent:cli-agent acting for bob@example\.com/);

      const refused = await run(["--actor", "cli-agent", "--groups", "admins"]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /not one of your groups: admins/);
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
  });
});
