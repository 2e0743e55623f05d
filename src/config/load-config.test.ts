import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import { ConfigError } from "./config-error.ts";
import { loadConfig, parseConfig } from "./load-config.ts";

const BASE = "/etc/sluice";
const SECRET = "correct-horse-battery-staple";

const FULL = `listeners: { http: 0.0.0.0:9080, postgres: "[::1]:25432" }
store: sqlite:./state/sluice.db
signing_key: file:./keys/signing-key.pem
policies: ./rules
tls: { cert: file:./cert.pem, key: file:/secure/key.pem }
tokens: { issuer: sluice-test, audience: gateway, default_ttl: 10m, max_ttl: 1d, leeway: 5s }
policy: { time_zone: Europe/Berlin }
limits: { max_message_bytes: 1MiB, max_batch_bytes: 4194304, max_connections: 50 }
connections:
  - name: pg-prod
    protocol: postgres
    labels: { env: prod, team: payments }
    target: { host: 10.0.0.5, port: 5432, database: app, user: app, password: env:PG_PROD_PASSWORD }
  - name: pg-dev
    protocol: postgres
    target:
      host: localhost
      port: 5433
`;

async function parse(text: string, env: NodeJS.ProcessEnv = {}) {
  return parseConfig(text, "sluice.yaml", BASE, { env });
}

async function errorOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigError> {
  try {
    await parse(text, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.ok(error instanceof SluiceError);
    return error;
  }
  assert.fail("expected the configuration to be rejected");
}

async function messageOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const error = await errorOf(text, env);
  assert.equal(error.code, ErrorCodes.configInvalid);
  return error.message;
}

describe("parseConfig: valid files", () => {
  it("reads a full configuration into camelCase fields with resolved paths", async () => {
    const config = await parse(FULL, { PG_PROD_PASSWORD: SECRET });
    assert.deepEqual(config.listeners, {
      http: { host: "0.0.0.0", port: 9080 },
      postgres: { host: "::1", port: 25_432 },
    });
    assert.deepEqual(config.store, { kind: "sqlite", path: "/etc/sluice/state/sluice.db" });
    assert.deepEqual(config.signingKey, { path: "/etc/sluice/keys/signing-key.pem", previousPaths: [] });
    assert.equal(config.policies, "/etc/sluice/rules");
    assert.deepEqual(config.tls, { certPath: "/etc/sluice/cert.pem", keyPath: "/secure/key.pem" });
    assert.deepEqual(config.tokens, {
      issuer: "sluice-test",
      audience: "gateway",
      defaultTtlSeconds: 600,
      maxTtlSeconds: 86_400,
      leewaySeconds: 5,
    });
    assert.deepEqual(config.policy, { timeZone: "Europe/Berlin" });
    assert.deepEqual(config.limits, {
      maxMessageBytes: 1_048_576,
      maxBatchBytes: 4_194_304,
      maxConnections: 50,
    });

    assert.equal(config.connections.length, 2);
    const [prod, dev] = config.connections;
    assert.deepEqual(
      { name: prod?.name, protocol: prod?.protocol, labels: prod?.labels },
      { name: "pg-prod", protocol: "postgres", labels: { env: "prod", team: "payments" } },
    );
    assert.deepEqual({ ...prod?.target }, { host: "10.0.0.5", port: 5432, database: "app", user: "app" });
    assert.equal(prod?.target.password, SECRET);
    assert.deepEqual(dev?.labels, {});
    assert.deepEqual({ ...dev?.target }, { host: "localhost", port: 5433 });
    assert.equal(dev?.target.password, undefined);
    assert.equal("password" in (dev?.target ?? {}), false);
  });

  it("fills every default for an empty file", async () => {
    const config = await parse("");
    assert.deepEqual(JSON.parse(JSON.stringify(config)), {
      listeners: { http: { host: "127.0.0.1", port: 8080 }, postgres: { host: "127.0.0.1", port: 15_432 } },
      store: { kind: "sqlite", path: "/etc/sluice/data/sluice.db" },
      signingKey: { path: "/etc/sluice/data/signing-key.pem", previousPaths: [] },
      policies: "/etc/sluice/policies",
      tokens: {
        issuer: "sluice",
        audience: "sluice",
        defaultTtlSeconds: 900,
        maxTtlSeconds: 43_200,
        leewaySeconds: 30,
      },
      policy: { timeZone: "UTC" },
      limits: { maxMessageBytes: 16_777_216, maxBatchBytes: 67_108_864, maxConnections: 1000 },
      audit: { sinks: [], retentionIntervalSeconds: 3600, checkpointIntervalSeconds: 3600 },
      recordings: {
        enabled: true,
        storage: "files",
        dir: "/etc/sluice/data/recordings",
        maxBytesPerSession: 67_108_864,
        maxRowsPerStatement: 100,
        fsync: false,
      },
      identity: {
        providers: [],
        trustedIssuers: [],
        sessionTtlSeconds: 43_200,
        revocationCheckIntervalSeconds: 30,
      },
      masking: {},
      approvals: {
        holdSeconds: 300,
        grants: { reviewers: [], minApprovals: 1, maxSeconds: 28_800, requestTtlSeconds: 3600 },
        notifications: [],
      },
      connections: [],
    });
    assert.equal(config.tls, undefined);
    assert.equal(config.audit.retention, undefined);
  });

  it("reads audit sinks and retention per event type", async () => {
    const config = await parse(
      [
        "audit:",
        "  sinks:",
        "    - { type: jsonl, path: file:./audit/trail.jsonl }",
        "  retention:",
        "    action.allowed: 90d",
        "    policy.reload_failed: 30d",
        "    default: 365d",
        "  retention_interval: 15m",
        "  checkpoint_interval: 10m",
        "",
      ].join("\n"),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(config.audit)), {
      sinks: [{ type: "jsonl", path: "/etc/sluice/audit/trail.jsonl" }],
      retention: {
        byType: { "action.allowed": 90 * 86_400, "policy.reload_failed": 30 * 86_400 },
        defaultSeconds: 365 * 86_400,
      },
      retentionIntervalSeconds: 900,
      checkpointIntervalSeconds: 600,
    });
    const withoutDefault = await parse("audit: { retention: { action.allowed: 7d } }\n");
    assert.deepEqual(withoutDefault.audit.retention, { byType: { "action.allowed": 604_800 } });
  });

  it("fills defaults inside partly written sections", async () => {
    const config = await parse(
      "tokens: { max_ttl: 2h }\nlimits: { max_connections: 5 }\nlisteners: { http: 127.0.0.1:0 }\n",
    );
    assert.equal(config.tokens.maxTtlSeconds, 7200);
    assert.equal(config.tokens.defaultTtlSeconds, 900);
    assert.equal(config.limits.maxConnections, 5);
    assert.equal(config.limits.maxMessageBytes, 16_777_216);
    assert.deepEqual(config.listeners.http, { host: "127.0.0.1", port: 0 });
    assert.deepEqual(config.listeners.postgres, { host: "127.0.0.1", port: 15_432 });
  });

  it("accepts a postgres store URL without a password and an in-memory sqlite store", async () => {
    assert.deepEqual((await parse("store: postgres://sluice@db.internal:5432/sluice\n")).store, {
      kind: "postgres",
      url: "postgres://sluice@db.internal:5432/sluice",
    });
    assert.deepEqual((await parse('store: "sqlite::memory:"\n')).store, { kind: "sqlite", path: ":memory:" });
  });

  it("returns a deeply frozen object", async () => {
    const config = await parse(FULL, { PG_PROD_PASSWORD: SECRET });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.listeners.http));
    assert.ok(Object.isFrozen(config.connections));
    assert.ok(Object.isFrozen(config.connections[0]?.labels));
    assert.ok(Object.isFrozen(config.connections[0]?.target));
    assert.throws(() => {
      (config.limits as { maxConnections: number }).maxConnections = 1;
    }, TypeError);
  });
});

describe("parseConfig: secrets", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-config-"));
    await writeFile(join(dir, "pg-password"), `${SECRET}\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const withPassword = (ref: string) =>
    `connections:\n  - name: pg\n    protocol: postgres\n    target:\n      host: db\n      port: 5432\n      password: ${ref}\n`;

  it("resolves env: references", async () => {
    const config = await parse(withPassword("env:PG_PW"), { PG_PW: SECRET });
    assert.equal(config.connections[0]?.target.password, SECRET);
  });

  it("resolves file: references relative to the configuration file", async () => {
    const config = await parseConfig(withPassword("file:./pg-password"), "sluice.yaml", dir, { env: {} });
    assert.equal(config.connections[0]?.target.password, SECRET);
  });

  it("rejects inline secrets without echoing them", async () => {
    const message = await messageOf(withPassword(SECRET));
    assert.equal(
      message,
      "sluice.yaml:7:7: connections[0].target.password: secrets must be given as env:VAR or file:path",
    );
    assert.equal(message.includes(SECRET), false);
    const numeric = await messageOf(withPassword("123456"));
    assert.equal(
      numeric,
      "sluice.yaml:7:7: connections[0].target.password: secrets must be given as env:VAR or file:path",
    );
  });

  it("reports every unresolved secret with file, line and key", async () => {
    const text = `${withPassword("env:PG_MISSING")}  - name: pg2\n    protocol: postgres\n    target: { host: db, port: 1, password: file:./nope }\n`;
    const error = await parseConfig(text, "sluice.yaml", dir, { env: {} }).then(
      () => assert.fail("expected rejection"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, ErrorCodes.secretUnresolved);
    assert.equal(
      error.message,
      [
        "sluice.yaml:7:7: connections[0].target.password: environment variable PG_MISSING is not set",
        `sluice.yaml:10:34: connections[1].target.password: cannot read secret file ${join(dir, "nope")} (ENOENT)`,
      ].join("\n"),
    );
  });

  it("never shows the password in JSON or inspect output", async () => {
    const config = await parse(FULL, { PG_PROD_PASSWORD: SECRET });
    assert.equal(config.connections[0]?.target.password, SECRET);
    assert.equal(JSON.stringify(config).includes(SECRET), false);
    assert.equal(inspect(config, { depth: 10 }).includes(SECRET), false);
    assert.equal(inspect(config, { depth: 10, showHidden: true }).includes(SECRET), false);
    assert.equal(JSON.stringify(config.connections[0]).includes(SECRET), false);
    assert.equal(JSON.stringify({ ...config.connections[0]?.target }).includes(SECRET), false);
    assert.deepEqual(Object.keys(config.connections[0]?.target ?? {}), ["host", "port", "database", "user"]);
  });
});

describe("parseConfig: errors", () => {
  it("reports YAML syntax errors with their position", async () => {
    assert.equal(
      await messageOf("listeners:\n  http: [127.0.0.1:8080\nstore: x\n"),
      "sluice.yaml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    );
    assert.equal(await messageOf("store: a\nstore: b\n"), "sluice.yaml:2:1: Map keys must be unique");
    assert.equal(await messageOf("policies: *nowhere\n"), "sluice.yaml:1:11: unknown alias *nowhere");
  });

  it("points at the key of an invalid value", async () => {
    const text =
      "connections:\n  - name: pg\n    protocol: postgres\n    target:\n      host: db\n      port: 70000\n";
    assert.equal(
      await messageOf(text),
      "sluice.yaml:6:7: connections[0].target.port: expected a number between 1 and 65535",
    );
  });

  it("points at the parent map for a missing key", async () => {
    const text = "connections:\n  - name: pg\n    protocol: postgres\n    target:\n      port: 5432\n";
    assert.equal(await messageOf(text), "sluice.yaml:5:7: connections[0].target.host: missing required key");
    assert.equal(
      await messageOf("connections:\n  - { name: pg, protocol: postgres }\n"),
      "sluice.yaml:2:5: connections[0].target: missing required key",
    );
    assert.equal(
      await messageOf("tls:\n  cert: file:c.pem\n"),
      "sluice.yaml:2:3: tls.key: missing required key",
    );
  });

  it("points at each unknown key", async () => {
    assert.equal(
      await messageOf("listener: {}\ntokens:\n  ttl: 5m\n  issuer: x\n  aud: y\n"),
      [
        "sluice.yaml:1:1: listener: unknown key",
        "sluice.yaml:3:3: tokens.ttl: unknown key",
        "sluice.yaml:5:3: tokens.aud: unknown key",
      ].join("\n"),
    );
  });

  it("names the expected and the found type", async () => {
    assert.equal(
      await messageOf("connections: {}\n"),
      "sluice.yaml:1:1: connections: expected a list, got a map",
    );
    assert.equal(await messageOf("tokens:\n"), "sluice.yaml:1:1: tokens: expected a map, got an empty value");
    assert.equal(await messageOf("- a\n- b\n"), "sluice.yaml:1:1: expected a map, got a list");
  });

  it("rejects protocols that are not supported yet, and unknown ones", async () => {
    const text = (protocol: string) =>
      `connections:\n  - name: db\n    protocol: ${protocol}\n    target: { host: h, port: 1 }\n`;
    assert.equal(
      await messageOf(text("mysql")),
      "sluice.yaml:3:5: connections[0].protocol: protocol mysql is not supported yet (supported: postgres)",
    );
    assert.equal(
      await messageOf(text("oracle")),
      "sluice.yaml:3:5: connections[0].protocol: expected one of postgres, mysql, ssh, kubernetes, http",
    );
  });

  it("rejects bad and duplicate connection names", async () => {
    const text = [
      "connections:",
      "  - { name: pg, protocol: postgres, target: { host: a, port: 1 } }",
      "  - { name: Prod DB, protocol: postgres, target: { host: a, port: 1 } }",
      "  - { name: pg, protocol: postgres, target: { host: a, port: 1 } }",
      "  - { name: pg, protocol: postgres, target: { host: a, port: 0 } }",
      "",
    ].join("\n");
    assert.equal(
      await messageOf(text),
      [
        "sluice.yaml:3:7: connections[1].name: expected 1 to 63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
        "sluice.yaml:4:7: connections[2].name: duplicate connection name pg (first used by connections[0])",
        "sluice.yaml:5:7: connections[3].name: duplicate connection name pg (first used by connections[0])",
        "sluice.yaml:5:56: connections[3].target.port: expected a number between 1 and 65535",
      ].join("\n"),
    );
    assert.match(
      await messageOf(`connections:\n  - { name: ${"a".repeat(64)}, protocol: postgres }\n`),
      /\.name: expected 1 to 63/,
    );
  });

  it("rejects labels that are not string to string", async () => {
    const text =
      "connections:\n  - name: db\n    protocol: postgres\n    labels: { tier: 1, _x: y }\n    target: { host: h, port: 1 }\n";
    assert.equal(
      await messageOf(text),
      [
        "sluice.yaml:4:15: connections[0].labels.tier: expected a string, got a number",
        "sluice.yaml:4:24: connections[0].labels._x: label keys are letters, digits, '.', '_', '/' or '-', starting with a letter or digit",
      ].join("\n"),
    );
  });

  it("validates durations, sizes, addresses, paths and the time zone", async () => {
    const text = [
      "listeners: { http: localhost, postgres: 127.0.0.1:99999 }",
      "store: mysql://db/x",
      "signing_key: ./key.pem",
      "tokens: { default_ttl: 15 minutes, leeway: 10m }",
      "policy: { time_zone: Mars/Olympus_Mons }",
      "limits: { max_message_bytes: 16MB, max_connections: 0 }",
      "",
    ].join("\n");
    assert.equal(
      await messageOf(text),
      [
        "sluice.yaml:1:14: listeners.http: expected host:port, e.g. 127.0.0.1:8080",
        "sluice.yaml:1:31: listeners.postgres: expected host:port, e.g. 127.0.0.1:8080",
        "sluice.yaml:2:1: store: expected sqlite:<path> or postgres://<host>/<database>",
        "sluice.yaml:3:1: signing_key: expected file:<path>",
        "sluice.yaml:4:11: tokens.default_ttl: expected a duration between 1s and 7d, e.g. 30s, 15m, 12h or 7d",
        "sluice.yaml:4:36: tokens.leeway: expected a duration between 0s and 5m, e.g. 30s, 15m, 12h or 7d",
        "sluice.yaml:5:11: policy.time_zone: expected an IANA time zone such as UTC or Europe/Berlin",
        "sluice.yaml:6:11: limits.max_message_bytes: expected a size between 1KiB and 1GiB, e.g. 64KiB or 16MiB",
        "sluice.yaml:6:36: limits.max_connections: expected a number between 1 and 1000000",
      ].join("\n"),
    );
  });

  it("validates audit sinks and retention", async () => {
    const text = [
      "audit:",
      "  sinks:",
      "    - { type: kafka, path: file:./a.jsonl }",
      "    - { type: jsonl, path: ./b.jsonl }",
      "    - { type: jsonl, path: file:./c.jsonl }",
      "    - { type: jsonl, path: file:./c.jsonl }",
      "  retention: { action.allowed: 10m, Bad Key: 1d, default: forever }",
      "",
    ].join("\n");
    const message = await messageOf(text);
    assert.match(message, /sluice\.yaml:3:\d+: audit\.sinks\[0\]\.type: expected jsonl/);
    assert.match(message, /sluice\.yaml:4:\d+: audit\.sinks\[1\]\.path: expected file:<path>/);
    assert.match(message, /sluice\.yaml:6:\d+: audit\.sinks\[3\]\.path: the same file as sinks\[2\]/);
    assert.match(message, /audit\.retention\["action\.allowed"\]: expected a duration between 1h and /);
    assert.match(message, /audit\.retention\["Bad Key"\]: expected default or an event type/);
    assert.match(message, /audit\.retention\.default: expected a duration/);
  });

  it("checks values against each other", async () => {
    assert.equal(
      await messageOf("tokens: { default_ttl: 1d, max_ttl: 12h }\n"),
      "sluice.yaml:1:11: tokens.default_ttl: must not be longer than max_ttl",
    );
    assert.equal(
      await messageOf("limits: { max_message_bytes: 1MiB, max_batch_bytes: 64KiB }\n"),
      "sluice.yaml:1:36: limits.max_batch_bytes: must be at least max_message_bytes",
    );
  });

  it("rejects a password in the store URL without echoing it", async () => {
    const message = await messageOf(`store: postgres://sluice:${SECRET}@db/sluice\n`);
    assert.equal(
      message,
      "sluice.yaml:1:1: store: the store URL must not contain a password; set PGPASSWORD instead",
    );
  });

  it("lists every problem at once, one per line, in file order", async () => {
    const error = await errorOf("limits: { max_connections: x }\nstore: nope\nunknown: 1\n");
    assert.deepEqual(
      error.issues.map((issue) => `${issue.line}:${issue.col} ${issue.path}`),
      ["1:11 limits.max_connections", "2:1 store", "3:1 unknown"],
    );
    assert.equal(error.message.split("\n").length, 3);
  });
});

describe("loadConfig", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-load-"));
    await mkdir(join(dir, "conf"));
    await writeFile(
      join(dir, "conf", "sluice.yaml"),
      "policies: ./rules\nstore: sqlite:db.sqlite\nbogus: true\n",
    );
    await writeFile(join(dir, "conf", "ok.yaml"), "policies: ./rules\n");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resolves paths against the file's directory", async () => {
    const config = await loadConfig(join(dir, "conf", "ok.yaml"));
    assert.equal(config.policies, join(dir, "conf", "rules"));
    assert.equal(config.signingKey.path, join(dir, "conf", "data", "signing-key.pem"));
  });

  it("names the file as given in errors", async () => {
    const path = join(dir, "conf", "sluice.yaml");
    await assert.rejects(loadConfig(path), {
      code: ErrorCodes.configInvalid,
      message: `${path}:3:1: bogus: unknown key`,
    });
  });

  it("reports an unreadable file", async () => {
    const path = join(dir, "absent.yaml");
    await assert.rejects(loadConfig(path), {
      code: ErrorCodes.configInvalid,
      message: `${path}: cannot read configuration file (ENOENT)`,
    });
  });
});
