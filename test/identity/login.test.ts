import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { browse, CookieJar, type DevIdp, GATEWAY_CLIENT, startTestIdp } from "../harness/dev-idp.ts";
import { freePort } from "../harness/free-port.ts";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";
import { REPO_ROOT, sluice } from "../harness/sluice-cli.ts";

const SECRET_ENV = "SLUICE_TEST_IDP_CLIENT_SECRET";

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  session_expires_at: number;
  user: string;
  groups: string[];
}

describe("logging in at the gateway through an OIDC provider", () => {
  let idp: DevIdp;
  let f: GatewayFixture;
  let gw = "";
  let configDir = "";
  const logs: string[] = [];

  before(async () => {
    const idpPort = await freePort();
    process.env[SECRET_ENV] = GATEWAY_CLIENT.clientSecret;
    f = await startGatewayFixture({
      log: (message) => logs.push(message),
      extraConfig: `identity:
  session_ttl: 1h
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
`,
    });
    gw = f.gateway.publicUrl;
    idp = await startTestIdp({ port: idpPort, gatewayOrigin: gw });
    configDir = mkdtempSync(join(tmpdir(), "sluice-cli-config-"));
  });
  after(async () => {
    await f?.stop();
    await idp?.close();
    rmSync(configDir, { recursive: true, force: true });
    delete process.env[SECRET_ENV];
  });

  async function browserLogin(user = "alice", redirect = "/whoami") {
    const jar = new CookieJar();
    const result = await browse(`${gw}/login/dev?redirect=${encodeURIComponent(redirect)}`, {
      login: user,
      password: "demo",
      jar,
      stopAt: `${gw}${redirect}`,
    });
    return { jar, result };
  }

  async function refresh(refreshToken: string) {
    const response = await fetch(`${gw}/token/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
    return {
      status: response.status,
      body: (await response.json()) as Tokens & { error_description?: string },
    };
  }

  test("a browser login (code + PKCE) ends at the requested page with a session cookie", async () => {
    const { jar, result } = await browserLogin();
    assert.equal(result.response.status, 303);
    assert.equal(result.url.href, `${gw}/whoami`);
    const authorize = result.visited.find((url) => url.startsWith(`${idp.issuer}/auth?`));
    assert.ok(authorize, result.visited.join("\n"));
    const params = new URL(authorize).searchParams;
    assert.equal(params.get("code_challenge_method"), "S256");
    assert.ok(params.get("state") && params.get("nonce") && params.get("code_challenge"));
    assert.equal(params.get("redirect_uri"), `${gw}/callback`);
    // No token ever travels in a URL.
    for (const url of result.visited) assert.doesNotMatch(url, /access_token|refresh_token|id_token/);
    const cookie = jar.get(gw, "sluice_session");
    assert.ok(cookie);

    const whoami = await fetch(`${gw}/whoami`, { headers: { cookie: `sluice_session=${cookie}` } });
    const me = (await whoami.json()) as { user: string; groups: string[]; session: { provider: string } };
    assert.equal(whoami.status, 200);
    assert.equal(me.user, "alice@example.com");
    assert.deepEqual(me.groups, ["analysts"]);
    assert.equal(me.session.provider, "dev");

    // The cookie refreshes into an access token that psql accepts as its password.
    const refreshed = await fetch(`${gw}/token/refresh`, {
      method: "POST",
      headers: { cookie: `sluice_session=${cookie}` },
    });
    const tokens = (await refreshed.json()) as Tokens;
    assert.equal(refreshed.status, 200);
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.sub, "alice@example.com");
    assert.ok(typeof claims.sid === "string");
    assert.ok(tokens.expires_in > 0 && tokens.expires_in <= 900);
    const r = await psql(f.conninfo(), tokens.access_token, ["-c", "SELECT 'analyst read'"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /analyst read/);
  });

  test("a wrong password never reaches the gateway's callback", async () => {
    const result = await browse(`${gw}/login/dev`, { login: "alice", password: "wrong", stopAt: `${gw}/` });
    assert.equal(result.response.status, 200);
    assert.match(result.body, /wrong password/);
  });

  test("redirect targets outside the gateway are refused (no open redirect)", async () => {
    for (const target of [
      "https://evil.example/",
      "//evil.example/x",
      "/\\evil.example",
      "javascript:alert(1)",
      "evil",
      "/%0d%0aSet-Cookie:x=y",
    ]) {
      const response = await fetch(`${gw}/login/dev?redirect=${encodeURIComponent(target)}`, {
        redirect: "manual",
      });
      if (target.startsWith("/%0d")) {
        // Encoded control characters stay encoded in a same-origin path: harmless, but check it.
        if (response.status === 302)
          assert.match(response.headers.get("location") ?? "", new RegExp(`^${idp.issuer}/auth`));
        continue;
      }
      assert.equal(response.status, 400, target);
      assert.equal(response.headers.get("location"), null);
    }
    const unknown = await fetch(`${gw}/login/nope`, { redirect: "manual" });
    assert.equal(unknown.status, 404);
  });

  test("the callback refuses unknown state, replays, and a browser that did not start the login", async () => {
    const bogus = await fetch(`${gw}/callback?code=x&state=forged`, { redirect: "manual" });
    assert.equal(bogus.status, 400);

    // Capture the IdP's redirect to our callback without following it.
    const jar = new CookieJar();
    const atCallback = await browse(`${gw}/login/dev`, {
      login: "alice",
      password: "demo",
      jar,
      stopAt: `${gw}/callback`,
    });
    const callback = atCallback.url.href;
    const otherBrowser = await fetch(callback, { redirect: "manual" });
    assert.equal(otherBrowser.status, 400);
    assert.match(await otherBrowser.text(), /another browser/);
    // The pending login was used up by that attempt: the right browser cannot replay it either.
    const replay = await fetch(callback, {
      redirect: "manual",
      headers: { cookie: jar.header(new URL(gw)) },
    });
    assert.equal(replay.status, 400);
  });

  test("refresh rotates the refresh token, re-reads groups at the IdP, and reuse ends the session", async () => {
    const { jar } = await browserLogin("bob");
    const first = await fetch(`${gw}/token/refresh`, {
      method: "POST",
      headers: { cookie: `sluice_session=${jar.get(gw, "sluice_session")}` },
    });
    const tokens = (await first.json()) as Tokens;
    assert.deepEqual(tokens.groups, ["engineers", "oncall"]);

    idp.setGroups("bob", ["eng-platform", "data-science"]);
    const second = await refresh(tokens.refresh_token);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.deepEqual(second.body.groups, ["analysts", "engineers"]);
    assert.notEqual(second.body.refresh_token, tokens.refresh_token);
    assert.deepEqual(decodeJwt(second.body.access_token).groups, ["analysts", "engineers"]);

    idp.setGroups("bob", []);
    const third = await refresh(second.body.refresh_token);
    assert.deepEqual(third.body.groups, []);

    // The access token works until the session is revoked by reusing an old refresh token.
    const before = await psql(f.conninfo("pg-dev"), second.body.access_token, ["-c", "SELECT 1"]);
    assert.equal(before.code, 0, before.stderr);
    const reuse = await refresh(second.body.refresh_token);
    assert.equal(reuse.status, 401);
    assert.match(reuse.body.error_description ?? "", /session revoked/);
    const afterReuse = await refresh(third.body.refresh_token);
    assert.equal(afterReuse.status, 401);
    const r = await psql(f.conninfo("pg-dev"), second.body.access_token, ["-c", "SELECT 1"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid token: session revoked/);
  });

  test("logout and admin revocation end the session and its access tokens", async () => {
    const { jar } = await browserLogin("alice");
    const cookie = `sluice_session=${jar.get(gw, "sluice_session")}`;
    const tokens = (await (
      await fetch(`${gw}/token/refresh`, { method: "POST", headers: { cookie } })
    ).json()) as Tokens;
    const sessionId = decodeJwt(tokens.access_token).sid as string;

    const notAdmin = await fetch(`${gw}/admin/sessions/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/json" },
      body: JSON.stringify({ session_id: sessionId }),
    });
    assert.equal(notAdmin.status, 403);

    const admin = await f.token("root@corp.example", ["sluice-admins"]);
    const revoked = await fetch(`${gw}/admin/sessions/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ session_id: sessionId }),
    });
    assert.equal(revoked.status, 200);
    const whoami = await fetch(`${gw}/whoami`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(whoami.status, 401);
    assert.match(((await whoami.json()) as { error: string }).error, /session revoked/);
    assert.equal((await refresh(tokens.refresh_token)).status, 401);

    const second = await browserLogin("alice");
    const secondCookie = `sluice_session=${second.jar.get(gw, "sluice_session")}`;
    const loggedOut = await fetch(`${gw}/logout`, { method: "POST", headers: { cookie: secondCookie } });
    assert.equal(loggedOut.status, 200);
    assert.deepEqual(await loggedOut.json(), { ok: true, ended: true });
    const afterLogout = await fetch(`${gw}/whoami`, { headers: { cookie: secondCookie } });
    assert.equal(afterLogout.status, 401);
  });

  test("sluice login (device flow) caches the session 0600; whoami, token get and logout use it", async () => {
    const env = { ...process.env, SLUICE_CONFIG_DIR: configDir, NO_COLOR: "1" };
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "login", "--gateway", gw], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    const prompt = new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        const url = /open (\S+)/.exec(stderr)?.[1];
        if (url !== undefined && stderr.includes("Waiting")) resolve(url);
      });
      child.once("exit", () => reject(new Error(`login exited early: ${stderr}`)));
    });
    const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? -1)));
    const verificationUrl = await prompt;
    assert.ok(verificationUrl.startsWith(`${idp.issuer}/device`), verificationUrl);
    assert.match(stderr, /code [A-Z-]+/);
    const approved = await browse(verificationUrl, { login: "alice", password: "demo" });
    assert.match(approved.body, /You are signed in/);
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /Logged in to .* as alice@example\.com \(groups: analysts\)/);

    const file = join(configDir, "credentials.json");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(configDir).mode & 0o777, 0o700);
    const cached = JSON.parse(readFileSync(file, "utf8")) as {
      current: string;
      gateways: Record<string, { accessToken: string; expiresAt: number }>;
    };
    assert.equal(cached.current, gw);

    const whoami = await runCli(["whoami"], env);
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.match(whoami.stdout, /user: +alice@example\.com \(human\)/);
    assert.match(whoami.stdout, /groups: +analysts$/m);
    assert.match(whoami.stdout, /session: +ends .* \(via dev\)/);

    // An access token about to expire is refreshed silently.
    const entry = cached.gateways[gw]!;
    const stale = {
      ...cached,
      gateways: { [gw]: { ...entry, expiresAt: Math.floor(Date.now() / 1000) + 5 } },
    };
    const { writeFileSync } = await import("node:fs");
    writeFileSync(file, JSON.stringify(stale), { mode: 0o600 });
    const token = await runCli(["token", "get"], env);
    assert.equal(token.code, 0, token.stderr);
    const fresh = token.stdout.trim();
    assert.notEqual(fresh, entry.accessToken);
    const r = await psql(f.conninfo(), fresh, ["-c", "SELECT 'via cli'"]);
    assert.equal(r.code, 0, r.stderr);

    const logout = await runCli(["logout"], env);
    assert.equal(logout.code, 0, logout.stderr);
    const afterLogout = await runCli(["whoami"], env);
    assert.notEqual(afterLogout.code, 0);
    assert.match(afterLogout.stderr, /not logged in/);
    const refused = await psql(f.conninfo(), fresh, ["-c", "SELECT 1"]);
    assert.match(refused.stderr, /session revoked/);
  });

  test("nothing the gateway logged contains a token", () => {
    const joined = logs.join("\n");
    assert.match(joined, /login: login alice@example\.com via dev/);
    assert.doesNotMatch(joined, /eyJ[A-Za-z0-9_-]{10,}\./);
  });
});

async function runCli(args: string[], env: NodeJS.ProcessEnv) {
  void sluice;
  const { runProcess } = await import("../harness/run-process.ts");
  return runProcess(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: REPO_ROOT,
    env,
  });
}
