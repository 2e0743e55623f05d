import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { StoredAuditRecord } from "../../src/store/index.ts";
import { browse, CookieJar, type DevIdp, GATEWAY_CLIENT, startTestIdp } from "../harness/dev-idp.ts";
import { freePort } from "../harness/free-port.ts";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { runProcess } from "../harness/run-process.ts";
import { REPO_ROOT } from "../harness/sluice-cli.ts";

const SECRET_ENV = "SLUICE_TEST_AUDIT_IDP_SECRET";

interface Tokens {
  access_token: string;
  refresh_token: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runProcess(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: "1", USER: "ops-oliver", ...env },
  });
}

describe("identity events in the audit trail", () => {
  let idp: DevIdp;
  let f: GatewayFixture;
  let gw = "";
  /** Every credential handed out during the test: none may appear in the trail. */
  const secrets: string[] = [];

  before(async () => {
    const idpPort = await freePort();
    process.env[SECRET_ENV] = GATEWAY_CLIENT.clientSecret;
    f = await startGatewayFixture({
      extraConfig: `identity:
  providers:
    - name: dev
      type: oidc
      issuer: http://127.0.0.1:${idpPort}
      client_id: ${GATEWAY_CLIENT.clientId}
      client_secret: env:${SECRET_ENV}
      group_mapping:
        - { from: "data-*", to: analysts }
`,
    });
    gw = f.gateway.publicUrl;
    idp = await startTestIdp({ port: idpPort, gatewayOrigin: gw });
  });
  after(async () => {
    await f?.stop();
    await idp?.close();
    delete process.env[SECRET_ENV];
  });

  async function login(user: string): Promise<Tokens> {
    const jar = new CookieJar();
    await browse(`${gw}/login/dev?redirect=/whoami`, {
      login: user,
      password: "demo",
      jar,
      stopAt: `${gw}/whoami`,
    });
    const cookie = jar.get(gw, "sluice_session")!;
    secrets.push(cookie.split(".")[1]!);
    return refresh(undefined, cookie);
  }

  async function refresh(refreshToken: string | undefined, cookie?: string): Promise<Tokens> {
    const response = await fetch(`${gw}/token/refresh`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(cookie === undefined ? {} : { cookie: `sluice_session=${cookie}` }),
      },
      body: refreshToken === undefined ? "" : JSON.stringify({ refresh_token: refreshToken }),
    });
    const body = (await response.json()) as Tokens;
    // Access tokens whole and their signatures; of refresh tokens the secret (the id is public).
    if (response.ok)
      secrets.push(body.access_token, body.access_token.split(".")[2]!, body.refresh_token.split(".")[1]!);
    return body;
  }

  async function events(type: string, user?: string): Promise<StoredAuditRecord[]> {
    await f.gateway.drainAuditSinks();
    return f.gateway.store.searchAudit({ type, ...(user === undefined ? {} : { user }) });
  }

  test("login, refresh, logout and revocation are recorded with the session, never a token", async () => {
    const alice = await login("alice");
    const [loggedIn] = await events("identity.login", "alice@example.com");
    assert.ok(loggedIn, "identity.login recorded");
    const session = loggedIn.data.login_session as string;
    assert.match(session, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(
      { ...loggedIn.data, login_session: undefined, session_expires_at: undefined },
      {
        user: "alice@example.com",
        kind: "human",
        groups: ["analysts"],
        provider: "dev",
        login_session: undefined,
        session_expires_at: undefined,
      },
    );
    assert.match(loggedIn.data.session_expires_at as string, /^\d{4}-\d\d-\d\dT/);
    // The cookie was refreshed once into tokens: one refresh so far.
    assert.equal((await events("identity.refresh", "alice@example.com")).length, 1);

    const rotated = await refresh(alice.refresh_token);
    const refreshes = await events("identity.refresh", "alice@example.com");
    assert.equal(refreshes.length, 2);
    assert.equal(refreshes[1]?.data.login_session, session);

    const loggedOut = await fetch(`${gw}/logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: rotated.refresh_token }),
    });
    assert.equal(loggedOut.status, 200);
    const [logout] = await events("identity.logout", "alice@example.com");
    assert.deepEqual(logout?.data, { user: "alice@example.com", login_session: session, provider: "dev" });

    // An administrator's revocation names who did it.
    const bob = await login("bob");
    const bobSession = JSON.parse(Buffer.from(bob.access_token.split(".")[1]!, "base64url").toString()).sid;
    const admin = await f.token("admin@corp.example", ["sluice-admins"]);
    const revoked = await fetch(`${gw}/admin/sessions/revoke`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
      body: JSON.stringify({ session_id: bobSession }),
    });
    assert.equal(revoked.status, 200);
    const [revocation] = await events("identity.revoked", "bob@example.com");
    assert.deepEqual(revocation?.data, {
      user: "bob@example.com",
      login_session: bobSession,
      provider: "dev",
      reason: "revoked by admin@corp.example",
    });

    // A reused refresh token ends the session: recorded as a revocation with that reason.
    const carol = await login("alice");
    await refresh(carol.refresh_token);
    const reused = await refresh(carol.refresh_token);
    assert.equal((reused as unknown as { error: string }).error, "invalid_grant");
    const reasons = (await events("identity.revoked", "alice@example.com")).map((event) => event.data.reason);
    assert.deepEqual(reasons, ["refresh token reused"]);
  });

  test("service-account keys created, exchanged and revoked are recorded, the key never", async () => {
    const created = await cli([
      "service-account",
      "create",
      "ci-auditor",
      "-c",
      f.configPath,
      "--groups",
      "engineers",
    ]);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    secrets.push(key, key.slice(key.indexOf("_", 3) + 1));
    const keyId = key.split("_")[1]!;

    const exchanged = await fetch(`${gw}/token/api-key`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
    });
    const token = ((await exchanged.json()) as { access_token: string }).access_token;
    secrets.push(token, token.split(".")[2]!);
    const revoked = await cli(["service-account", "revoke", keyId, "-c", f.configPath]);
    assert.equal(revoked.code, 0, revoked.stderr);

    const [createdEvent] = await events("service_account.created");
    assert.equal(createdEvent?.user, "ops-oliver");
    assert.deepEqual(
      { ...createdEvent?.data, expires_at: undefined },
      {
        account: "ci-auditor",
        key_id: keyId,
        groups: ["engineers"],
        by: "ops-oliver",
        expires_at: undefined,
      },
    );
    const [exchange] = await events("token.exchanged", "ci-auditor");
    assert.deepEqual(
      { ...exchange?.data, token_id: undefined, expires_at: undefined },
      {
        grant: "api_key",
        user: "ci-auditor",
        kind: "service",
        groups: ["engineers"],
        account: "ci-auditor",
        key_id: keyId,
        token_id: undefined,
        expires_at: undefined,
      },
    );
    const [revokedEvent] = await events("service_account.revoked");
    assert.deepEqual(revokedEvent?.data, { account: "ci-auditor", key_id: keyId, by: "ops-oliver" });
  });

  test("no identity event carries a token, refresh secret, API key or hash; the chain verifies", async () => {
    await f.gateway.drainAuditSinks();
    const all = await f.gateway.store.searchAudit({ limit: 1000 });
    const identityEvents = all.filter((event) => /^(identity|service_account|token)\./.test(event.type));
    assert.ok(identityEvents.length >= 9, identityEvents.map((event) => event.type).join(", "));
    const text = JSON.stringify(identityEvents);
    assert.ok(secrets.length >= 10);
    for (const secret of secrets) {
      assert.ok(secret.length >= 40);
      assert.equal(text.includes(secret), false, "a credential leaked into the audit trail");
    }
    assert.doesNotMatch(text, /scrypt\$|refresh_hash|secret/i);
    const verify = await cli(["audit", "verify", "-c", f.configPath]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
