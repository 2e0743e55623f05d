import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type RunningGateway, startGateway } from "../../src/app/index.ts";
import { loadConfig } from "../../src/config/index.ts";
import { configYaml } from "../harness/config-yaml.ts";
import { TEST_POLICY } from "../harness/gateway-fixture.ts";
import { startPostgres, type TestPostgres } from "../harness/postgres-server.ts";
import { psql } from "../harness/psql.ts";

/** The gateway logs in upstream with whatever method the server asks for. */
describe("upstream authentication methods", () => {
  let pg: TestPostgres;
  let gateway: RunningGateway;
  let dir: string;
  let token: string;

  before(async () => {
    pg = await startPostgres();
    const admin = await pg.admin();
    await admin.query("CREATE DATABASE app");
    await admin.query("SET password_encryption = 'md5'");
    await admin.query("CREATE ROLE md5_user LOGIN PASSWORD 'md5-secret'");
    await admin.query("SET password_encryption = 'scram-sha-256'");
    await admin.query("CREATE ROLE clear_user LOGIN PASSWORD 'clear-secret'");
    await admin.query("CREATE ROLE trust_user LOGIN");
    // Rules are read top-down: these come before initdb's scram-sha-256 line.
    const hba = join(pg.dataDir, "pg_hba.conf");
    writeFileSync(
      hba,
      [
        "host all md5_user 127.0.0.1/32 md5",
        "host all clear_user 127.0.0.1/32 password",
        "host all trust_user 127.0.0.1/32 trust",
        readFileSync(hba, "utf8"),
      ].join("\n"),
    );
    await admin.query("SELECT pg_reload_conf()");
    await admin.end();

    dir = mkdtempSync(join(tmpdir(), "sluice-auth-"));
    mkdirSync(join(dir, "policies"));
    writeFileSync(join(dir, "policies", "test.yaml"), TEST_POLICY);
    writeFileSync(join(dir, "md5"), "md5-secret\n");
    writeFileSync(join(dir, "clear"), "clear-secret\n");
    writeFileSync(join(dir, "wrong"), "not-the-password\n");
    writeFileSync(
      join(dir, "sluice.yaml"),
      configYaml({
        connections: [
          { name: "pg-md5", env: "dev", port: pg.port, user: "md5_user", passwordFile: "./md5" },
          { name: "pg-clear", env: "dev", port: pg.port, user: "clear_user", passwordFile: "./clear" },
          { name: "pg-trust", env: "dev", port: pg.port, user: "trust_user" },
          { name: "pg-wrong", env: "dev", port: pg.port, user: "md5_user", passwordFile: "./wrong" },
        ],
      }),
    );
    gateway = await startGateway(await loadConfig(join(dir, "sluice.yaml")), { log: () => {} });
    token = await gateway.issuer.issue({
      user: "erin@corp.example",
      groups: ["engineers"],
      kind: "human",
      ttlSeconds: 600,
    });
  });
  after(async () => {
    await gateway.close();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const conninfo = (name: string) =>
    `host=127.0.0.1 port=${gateway.postgres.port} dbname=${name} user=x sslmode=require`;

  for (const [connection, role] of [
    ["pg-md5", "md5_user"],
    ["pg-clear", "clear_user"],
    ["pg-trust", "trust_user"],
  ] as const) {
    test(`${connection}: the session runs as ${role}`, async () => {
      const r = await psql(conninfo(connection), token, ["-c", "SELECT current_user"]);
      assert.equal(r.stderr, "");
      assert.equal(r.stdout.trim(), role);
    });
  }

  test("a wrong backend password gives a clean error that names no secret", async () => {
    const r = await psql(conninfo("pg-wrong"), token, ["-c", "SELECT 1"]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /FATAL: {2}sluice: connection "pg-wrong" is unavailable: the database refused the gateway: password authentication failed/,
    );
    assert.doesNotMatch(r.stderr, /not-the-password|md5-secret/);
  });
});
