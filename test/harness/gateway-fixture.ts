import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningGateway, startGateway } from "../../src/app/gateway.ts";
import { loadConfig } from "../../src/config/index.ts";
import { configYaml } from "./config-yaml.ts";
import { startPostgres, type TestPostgres } from "./postgres-server.ts";

export const APP_PASSWORD = "app-secret-Ünïcode";

export const TEST_POLICY = `apiVersion: sluice/v1
rules:
  - id: analysts-read
    description: Analysts may read anything that parses and writes nothing
    match: { protocols: [postgres], groups: [analysts] }
    when: >-
      sql.parsed && !sql.dynamic && size(sql.writes) == 0 &&
      sql.kinds.all(k, k in ["select", "show", "transaction", "explain", "set", "fetch", "declare_cursor", "close_cursor", "copy", "prepare", "execute", "deallocate"])
    effect: allow
  - id: engineers-write
    description: Engineers may run any statement the gateway fully understands
    match: { protocols: [postgres], groups: [engineers] }
    when: sql.parsed && !sql.dynamic
    effect: allow
  - id: no-drop-in-prod
    description: Nobody drops or truncates tables in production
    match: { connections: { labels: { env: prod } } }
    when: '"drop" in sql.kinds || "truncate" in sql.kinds'
    effect: deny
    reason: DROP and TRUNCATE are not allowed on {{connection.name}}
  - id: no-unfiltered-writes-in-prod
    description: UPDATE and DELETE in production need a real WHERE clause
    match: { connections: { labels: { env: prod } } }
    when: size(sql.unfiltered_writes) > 0
    effect: deny
    reason: UPDATE and DELETE need a WHERE clause on {{connection.name}}
`;

export interface GatewayFixture {
  readonly pg: TestPostgres;
  readonly gateway: RunningGateway;
  readonly dir: string;
  readonly configPath: string;
  /** libpq connection string for the named connection through the gateway. */
  conninfo(connection?: string): string;
  token(user: string, groups: string[], ttl?: number): Promise<string>;
  /** The target database as its owner, to check what really happened. */
  app(): Promise<import("pg").Client>;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL with an `app` database owned by a SCRAM-authenticated `app` role, and an
 * in-process gateway in front of it with the test policy.
 */
export async function startGatewayFixture(
  options: {
    policy?: string;
    allowPlaintext?: boolean;
    stopPostgres?: boolean;
    /** More top-level configuration (YAML), e.g. an `audit:` section. */
    extraConfig?: string;
    /** Where the gateway's log goes (default: nowhere). */
    log?: (message: string) => void;
    /** The `store:` location, given the started server (default: a SQLite file). */
    store?: (pg: TestPostgres) => Promise<string>;
  } = {},
): Promise<GatewayFixture> {
  const pg = await startPostgres();
  const admin = await pg.admin();
  await admin.query(`CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD}'`);
  await admin.query("CREATE DATABASE app OWNER app");
  await admin.end();
  const dir = mkdtempSync(join(tmpdir(), "sluice-gw-"));
  mkdirSync(join(dir, "policies"));
  writeFileSync(join(dir, "policies", "test.yaml"), options.policy ?? TEST_POLICY);
  writeFileSync(join(dir, "app-password"), `${APP_PASSWORD}\n`);
  const configPath = join(dir, "sluice.yaml");
  writeFileSync(
    configPath,
    configYaml({
      connections: [
        { name: "pg-prod", env: "prod", port: pg.port, passwordFile: "./app-password" },
        { name: "pg-dev", env: "dev", port: pg.port, passwordFile: "./app-password" },
        { name: "pg-down", env: "dev", port: 1, passwordFile: "./app-password" },
      ],
      ...(options.extraConfig === undefined ? {} : { extra: options.extraConfig }),
      ...(options.store === undefined ? {} : { store: await options.store(pg) }),
    }),
  );
  const config = await loadConfig(configPath);
  const gateway = await startGateway(config, {
    log: options.log ?? (() => {}),
    allowPlaintext: options.allowPlaintext ?? false,
  });
  const appClient = async () => {
    const pgmod = (await import("pg")).default;
    const client = new pgmod.Client({
      host: pg.host,
      port: pg.port,
      user: "app",
      password: APP_PASSWORD,
      database: "app",
    });
    await client.connect();
    return client;
  };
  return {
    pg,
    gateway,
    dir,
    configPath,
    conninfo: (connection = "pg-prod") =>
      `host=127.0.0.1 port=${gateway.postgres.port} dbname=${connection} user=tester sslmode=require`,
    token: (user, groups, ttl = 600) =>
      gateway.issuer.issue({ user, groups, kind: "human", ttlSeconds: ttl }),
    app: appClient,
    async stop() {
      await gateway.close();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
