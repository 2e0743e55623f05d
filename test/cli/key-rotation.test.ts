import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";
import { sluice } from "../harness/sluice-cli.ts";
import { type ServeProcess, startServe } from "../harness/sluice-serve.ts";

describe("signing key rotation with overlap", () => {
  let f: GatewayFixture;
  before(async () => {
    f = await startGatewayFixture();
  });
  after(() => f.stop());

  const token = async (): Promise<string> => {
    const r = await sluice([
      "token",
      "issue",
      "-c",
      f.configPath,
      "--user",
      "ann@corp.example",
      "--groups",
      "analysts",
    ]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const select = (serve: ServeProcess, password: string) =>
    psql(`host=127.0.0.1 port=${serve.port} dbname=pg-prod user=tester sslmode=require`, password, [
      "-c",
      "SELECT 1",
    ]);
  const kids = async (serve: ServeProcess): Promise<string[]> => {
    const http = /http \S+:(\d+)/.exec(serve.stderr())?.[1];
    const response = await fetch(`http://127.0.0.1:${http}/.well-known/jwks.json`);
    return ((await response.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();
  };

  test("tokens of the old key stay valid while it is listed, and only then", async () => {
    const old = await token();
    const rotated = await sluice(["keys", "rotate", "-c", f.configPath]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const kid = /new signing key (\S+)/.exec(rotated.stdout)?.[1];
    const oldKid = /old key (\S+) kept in (\S+)/.exec(rotated.stdout);
    const listed = /previous_signing_keys: \[file:(\S+)\]/.exec(rotated.stdout)?.[1];
    assert.ok(kid && oldKid && listed, rotated.stdout);
    const fresh = await token();

    // Without the old key listed, its tokens are refused (unknown key id).
    let serve = await startServe(f.configPath);
    try {
      assert.deepEqual(await kids(serve), [kid]);
      assert.equal((await select(serve, fresh)).code, 0);
      const refused = await select(serve, old);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /invalid token: unknown signing key/);
    } finally {
      await serve.stop("SIGTERM");
    }

    // Listed as a previous key: both generations are accepted and published.
    appendFileSync(f.configPath, `\nprevious_signing_keys: [file:${listed}]\n`);
    serve = await startServe(f.configPath);
    try {
      assert.deepEqual(await kids(serve), [kid, oldKid[1]].sort());
      assert.equal((await select(serve, old)).code, 0);
      assert.equal((await select(serve, fresh)).code, 0);
    } finally {
      await serve.stop("SIGTERM");
    }
    // New tokens are signed with the new key only.
    const header = JSON.parse(Buffer.from(fresh.split(".")[0]!, "base64url").toString()) as { kid: string };
    assert.equal(header.kid, kid);
  });
});
