import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type RunningGateway, startGateway } from "../../src/app/gateway.ts";
import { loadConfig } from "../../src/config/index.ts";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { LivePsql } from "../harness/live-psql.ts";
import { startPostgres, type TestPostgres } from "../harness/postgres-server.ts";
import { psql } from "../harness/psql.ts";
import { sluice } from "../harness/sluice-cli.ts";

/** Runs statements until the gateway has closed the session; returns how long that took. */
async function closedWithin(live: LivePsql, ms: number): Promise<{ stderr: string; elapsed: number }> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    try {
      const { stderr } = await live.run("SELECT 1;", 5000);
      if (/session ended|connection/i.test(stderr)) return { stderr, elapsed: Date.now() - started };
    } catch (error) {
      return { stderr: String(error), elapsed: Date.now() - started };
    }
  }
  throw new Error("the session was not closed in time");
}

/**
 * Two gateways sharing one PostgreSQL store: login sessions and API keys are rows there, so a
 * token issued by one works at the other, and a revocation at either is seen by both at once
 * (notification) — well before the 1-hour periodic check configured here could.
 */
describe("login sessions and API keys in a shared PostgreSQL store", () => {
  let f: GatewayFixture;
  let other: RunningGateway;
  let storePg: TestPostgres | undefined;
  const savedPassword = process.env.PGPASSWORD;

  before(async () => {
    f = await startGatewayFixture({
      store: async () => {
        storePg = await startPostgres();
        const admin = await storePg.admin();
        await admin.query("CREATE DATABASE sluice_store");
        await admin.end();
        process.env.PGPASSWORD = storePg.superPassword;
        return `postgres://${storePg.superuser}@${storePg.host}:${storePg.port}/sluice_store`;
      },
      // The IdP is never asked: sessions are started directly (as after an IdP login).
      extraConfig: `tokens: { leeway: 0s }
identity:
  revocation_check_interval: 1h
  providers:
    - { name: dev, type: oidc, issuer: "http://127.0.0.1:1", client_id: sluice, group_mapping: [{ from: "data-*", to: analysts }] }
`,
    });
    other = await startGateway(await loadConfig(f.configPath), { log: () => {}, watchPolicies: false });
  });
  after(async () => {
    await other?.close();
    await f?.stop();
    await storePg?.stop();
    if (savedPassword === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = savedPassword;
  });

  const conninfo = (gateway: RunningGateway, connection = "pg-dev") =>
    `host=127.0.0.1 port=${gateway.postgres.port} dbname=${connection} user=tester sslmode=require`;

  async function store<T>(work: (client: import("pg").Client) => Promise<T>): Promise<T> {
    const client = await storePg!.admin("sluice_store");
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  test("the store's migration creates the identity tables (own schema component)", async () => {
    const rows = await store((c) =>
      c.query<{ component: string; version: number }>(
        "SELECT component, version FROM sluice_schema ORDER BY component",
      ),
    );
    assert.ok(rows.rows.some((row) => row.component === "identity" && row.version === 1));
    const tables = await store((c) =>
      c.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_name IN ('login_sessions', 'api_keys') ORDER BY 1",
      ),
    );
    assert.deepEqual(
      tables.rows.map((row) => row.table_name),
      ["api_keys", "login_sessions"],
    );
  });

  test("a login at one gateway works at the other; a logout there closes live sessions here at once", async () => {
    const a = f.gateway;
    const tokens = await a.identity.logins.start("dev", {
      user: "alice@example.com",
      idpGroups: ["data-analysts"],
    });
    // The other gateway has never seen this session: it finds it in the store.
    const atOther = await psql(conninfo(other), tokens.accessToken, ["-c", "SELECT 'read at the other'"]);
    assert.equal(atOther.code, 0, atOther.stderr);

    // Refresh at the other gateway, over HTTP: rotation is shared too.
    const refreshed = await fetch(`${other.publicUrl}/token/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: tokens.refreshToken }),
    });
    assert.equal(refreshed.status, 200);
    const next = (await refreshed.json()) as { access_token: string; refresh_token: string };
    const reused = await a.identity.logins
      .refresh(tokens.refreshToken)
      .catch((error: Error) => error.message);
    assert.match(String(reused), /session revoked/, "the first gateway saw the rotation and the reuse");
    // Reuse ended the session everywhere: start another one.
    // ...and the other gateway's memory learns it from the store's notification, within moments.
    const seenAt = Date.now();
    while (!other.identity.isSessionRevoked(tokens.principal.loginSessionId!)) {
      assert.ok(Date.now() - seenAt < 2000, "the other gateway did not learn of the revocation");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const second = await a.identity.logins.start("dev", {
      user: "alice@example.com",
      idpGroups: ["data-analysts"],
    });
    const live = new LivePsql(conninfo(a), second.accessToken);
    const liveOther = new LivePsql(conninfo(other), second.accessToken);
    try {
      assert.equal((await live.run("SELECT 'live here';")).stdout, "live here");
      assert.equal((await liveOther.run("SELECT 'live there';")).stdout, "live there");
      const logout = await fetch(`${other.publicUrl}/logout`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: second.refreshToken }),
      });
      assert.deepEqual(await logout.json(), { ok: true, ended: true });
      const closed = await closedWithin(live, 5000);
      assert.match(closed.stderr, /session ended: the login was revoked or has ended/);
      assert.ok(closed.elapsed < 5000);
      await closedWithin(liveOther, 5000);
    } finally {
      await live.close().catch(() => {});
      await liveOther.close().catch(() => {});
    }
    const refused = await psql(conninfo(a), second.accessToken, ["-c", "SELECT 1"]);
    assert.match(refused.stderr, /invalid token: session revoked/);
    assert.equal(next.access_token.length > 0, true);
  });

  test("an API key created at one gateway is exchanged at the other; revoking it there ends its tokens here", async () => {
    const created = await f.gateway.identity.serviceAccounts.create({
      account: "ci-shared",
      groups: ["engineers"],
      ttlSeconds: 3600,
    });
    const exchanged = await fetch(`${other.publicUrl}/token/api-key`, {
      method: "POST",
      headers: { authorization: `Bearer ${created.key}` },
    });
    assert.equal(exchanged.status, 200);
    const { access_token: token } = (await exchanged.json()) as { access_token: string };
    const live = new LivePsql(conninfo(f.gateway), token);
    try {
      assert.equal((await live.run("SELECT 'deploying';")).stdout, "deploying");
      assert.equal(await other.identity.serviceAccounts.revoke(created.record.id), true);
      const closed = await closedWithin(live, 5000);
      assert.match(closed.stderr, /session ended/);
    } finally {
      await live.close().catch(() => {});
    }
    const refused = await psql(conninfo(f.gateway), token, ["-c", "SELECT 1"]);
    assert.match(refused.stderr, /invalid token: session revoked/);

    // The key's secret is not in the store; the CLI lists the key from PostgreSQL too.
    const secret = created.key.slice(created.key.indexOf("_", 3) + 1);
    const leaked = await store((c) =>
      c.query("SELECT 1 FROM api_keys WHERE secret_hash LIKE '%' || $1 || '%'", [secret]),
    );
    assert.equal(leaked.rowCount, 0);
    const listed = await sluice(["service-account", "list", "-c", f.configPath, "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /"account":"ci-shared".*"status":"revoked"/);

    // Both gateways' identity events are in the one shared chain.
    await f.gateway.drainAuditSinks();
    await other.drainAuditSinks();
    const types = (await f.gateway.store.searchAudit({ limit: 1000 })).map((event) => event.type);
    for (const type of ["identity.login", "identity.refresh", "identity.logout", "identity.revoked"]) {
      assert.ok(types.includes(type), `${type} in ${types.join(", ")}`);
    }
    assert.ok(types.includes("service_account.created") && types.includes("service_account.revoked"));
    const verify = await sluice(["audit", "verify", "-c", f.configPath]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
