import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";
import { runProcess } from "../harness/run-process.ts";
import { REPO_ROOT } from "../harness/sluice-cli.ts";

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runProcess(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
}

describe("service accounts", () => {
  let f: GatewayFixture;
  before(async () => {
    f = await startGatewayFixture();
  });
  after(() => f?.stop());

  test("an API key is shown once, stored hashed, exchanged for a token psql accepts, and revocable", async () => {
    const created = await cli([
      "service-account",
      "create",
      "ci-deployer",
      "-c",
      f.configPath,
      "--groups",
      "engineers",
      "--expires",
      "30d",
      "--description",
      "deploys",
    ]);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^sk_[A-Za-z0-9]{16}_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /only time the key is shown/);
    const keyId = key.split("_")[1]!;
    const secret = key.slice(`sk_${keyId}_`.length);
    const db = readFileSync(join(f.dir, "data", "sluice.db"));
    assert.equal(db.includes(Buffer.from(secret)), false, "the secret must not be stored");

    const listed = await cli(["service-account", "list", "-c", f.configPath, "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const row = JSON.parse(listed.stdout.trim()) as Record<string, unknown>;
    assert.equal(row.id, keyId);
    assert.equal(row.account, "ci-deployer");
    assert.equal(row.status, "active");
    assert.deepEqual(row.groups, ["engineers"]);
    assert.equal("secretHash" in row, false);
    assert.equal(listed.stdout.includes(secret), false);

    const exchanged = await cli(["token", "exchange", "--gateway", f.gateway.publicUrl], {
      SLUICE_API_KEY: key,
    });
    assert.equal(exchanged.code, 0, exchanged.stderr);
    const token = exchanged.stdout.trim();
    const claims = decodeJwt(token);
    assert.equal(claims.sub, "ci-deployer");
    assert.equal(claims.kind, "service");
    assert.equal(claims.sid, `key:${keyId}`);
    assert.ok((claims.exp ?? 0) - (claims.iat ?? 0) <= 900);
    const ok = await psql(f.conninfo("pg-dev"), token, ["-c", "SELECT 'deployed'"]);
    assert.equal(ok.code, 0, ok.stderr);

    const wrong = await fetch(`${f.gateway.publicUrl}/token/api-key`, {
      method: "POST",
      headers: { authorization: `Bearer sk_${keyId}_${"x".repeat(43)}` },
    });
    assert.equal(wrong.status, 401);
    assert.deepEqual(await wrong.json(), { error: "invalid API key: unknown API key" });

    const revoked = await cli(["service-account", "revoke", keyId, "-c", f.configPath]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const refused = await psql(f.conninfo("pg-dev"), token, ["-c", "SELECT 1"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /invalid token: session revoked/);
    const again = await cli(["token", "exchange", "--gateway", f.gateway.publicUrl], { SLUICE_API_KEY: key });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /API key revoked/);
    assert.equal(again.stderr.includes(secret), false);
  });

  test("keys are never taken from the command line, and bad names are refused", async () => {
    const noKey = await cli(["token", "exchange", "--gateway", f.gateway.publicUrl], { SLUICE_API_KEY: "" });
    assert.notEqual(noKey.code, 0);
    assert.match(noKey.stderr, /SLUICE_API_KEY/);
    const bad = await cli(["service-account", "create", "Bad Name", "-c", f.configPath]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /account:/);
  });
});
