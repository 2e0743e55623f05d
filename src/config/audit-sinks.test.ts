import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { parseSyslogAddress, parseWebhookUrl } from "./audit-sinks.ts";
import { ConfigError } from "./config-error.ts";
import { parseConfig } from "./load-config.ts";
import type { SyslogSinkConfig, WebhookSinkConfig } from "./types.ts";

const BASE = "/etc/sluice";
const SECRET = "hmac-key-never-printed";

const parse = (text: string, env: NodeJS.ProcessEnv = {}, skipSecrets = false) =>
  parseConfig(text, "sluice.yaml", BASE, { env, skipSecrets });

async function messageOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    await parse(text, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail("expected a ConfigError");
}

describe("audit sink addresses", () => {
  it("reads tcp, tls and udp syslog addresses, IPv6 in brackets", () => {
    assert.deepEqual(parseSyslogAddress("tcp://127.0.0.1:6514"), {
      transport: "tcp",
      host: "127.0.0.1",
      port: 6514,
    });
    assert.deepEqual(parseSyslogAddress("tls://logs.example:6514"), {
      transport: "tls",
      host: "logs.example",
      port: 6514,
    });
    assert.deepEqual(parseSyslogAddress("udp://[::1]:514"), { transport: "udp", host: "::1", port: 514 });
    for (const bad of [
      "tcp://host",
      "http://host:1",
      "tcp://host:0",
      "tcp://host:70000",
      "tcp://[x]:1",
      "tcp://a b:1",
    ]) {
      assert.equal(parseSyslogAddress(bad), undefined, bad);
    }
  });

  it("accepts https webhooks anywhere and plain http only on loopback", () => {
    assert.deepEqual(parseWebhookUrl("https://siem.example/hook"), {
      ok: true,
      url: "https://siem.example/hook",
    });
    for (const loopback of [
      "http://127.0.0.1:8080/h",
      "http://localhost/h",
      "http://[::1]:9/h",
      "http://127.9.9.9/",
    ]) {
      assert.equal(parseWebhookUrl(loopback).ok, true, loopback);
    }
    assert.deepEqual(parseWebhookUrl("http://siem.example/hook"), {
      ok: false,
      message: "plain http:// is allowed only on loopback; use https://",
    });
    assert.equal(parseWebhookUrl("http://127.0.0.1.evil.example/").ok, false);
    assert.equal(parseWebhookUrl("ftp://siem.example/").ok, false);
    assert.equal(parseWebhookUrl("not a url").ok, false);
    assert.deepEqual(parseWebhookUrl("https://user:pw@siem.example/"), {
      ok: false,
      message: "the URL must not contain a user or password",
    });
  });
});

describe("audit sinks in the configuration file", () => {
  it("reads syslog and webhook sinks beside a jsonl sink, with defaults", async () => {
    const config = await parse(
      [
        "store: sqlite:/var/lib/sluice/sluice.db",
        "audit:",
        "  sinks:",
        "    - { type: jsonl, path: file:./audit.jsonl }",
        '    - { type: syslog, address: "tcp://127.0.0.1:6514" }',
        '    - { type: syslog, address: "tls://logs.example:6514", facility: auth, hostname: gw-1, ca: file:./ca.pem, cursor: file:./syslog.cursor }',
        "    - { type: webhook, url: https://siem.example/hook, secret: env:SIEM_SECRET }",
        "    - { type: webhook, url: http://127.0.0.1:9000/h, secret: env:SIEM_SECRET, batch_size: 10, timeout: 30s }",
        "",
      ].join("\n"),
      { SIEM_SECRET: SECRET },
    );
    const [jsonl, tcp, tls, webhook, local] = config.audit.sinks;
    assert.deepEqual(jsonl, { type: "jsonl", path: "/etc/sluice/audit.jsonl" });
    assert.deepEqual(
      { ...(tcp as SyslogSinkConfig), cursorPath: "" },
      {
        type: "syslog",
        transport: "tcp",
        host: "127.0.0.1",
        port: 6514,
        facility: 16,
        hostname: undefined,
        caPath: undefined,
        cursorPath: "",
      },
    );
    assert.match(
      (tcp as SyslogSinkConfig).cursorPath,
      /^\/var\/lib\/sluice\/audit-sink-syslog-[0-9a-f]{12}\.cursor$/,
    );
    assert.deepEqual(tls, {
      type: "syslog",
      transport: "tls",
      host: "logs.example",
      port: 6514,
      facility: 4,
      hostname: "gw-1",
      caPath: "/etc/sluice/ca.pem",
      cursorPath: "/etc/sluice/syslog.cursor",
    });
    const hook = webhook as WebhookSinkConfig;
    assert.equal(hook.url, "https://siem.example/hook");
    assert.equal(hook.batchSize, 100);
    assert.equal(hook.timeoutSeconds, 10);
    assert.match(hook.cursorPath, /^\/var\/lib\/sluice\/audit-sink-webhook-[0-9a-f]{12}\.cursor$/);
    assert.equal(hook.secret, SECRET);
    assert.notEqual(hook.cursorPath, (local as WebhookSinkConfig).cursorPath, "one cursor per receiver");
    assert.equal((local as WebhookSinkConfig).batchSize, 10);
    assert.equal((local as WebhookSinkConfig).timeoutSeconds, 30);
    assert.ok(Object.isFrozen(hook));
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 }), Object.keys(hook).join()]) {
      assert.equal(shown.includes(SECRET), false, "the webhook secret never shows");
    }
  });

  it("keeps cursors beside the signing key when the store is not a file", async () => {
    const config = await parse(
      [
        'store: "sqlite::memory:"',
        "signing_key: file:/keys/signing-key.pem",
        'audit: { sinks: [{ type: syslog, address: "udp://127.0.0.1:514" }] }',
        "",
      ].join("\n"),
    );
    assert.match((config.audit.sinks[0] as SyslogSinkConfig).cursorPath, /^\/keys\/audit-sink-syslog-/);
  });

  it("names file, line, column and key for every mistake", async () => {
    const message = await messageOf(
      [
        "audit:",
        "  sinks:",
        '    - { type: syslog, address: "tcp://127.0.0.1" }',
        '    - { type: syslog, address: "udp://127.0.0.1:514", facility: local9 }',
        "    - { type: webhook, url: http://siem.example/hook, secret: plain-text-secret }",
        "    - { type: webhook, url: https://siem.example/h, secret: env:X, batch_size: 5000, timeout: 1h, color: red }",
        '    - { type: syslog, address: "tcp://127.0.0.1:6514" }',
        '    - { type: syslog, address: "tcp://127.0.0.1:6514" }',
        "    - { type: webhook }",
        '    - { type: syslog, address: "udp://127.0.0.1:515", ca: file:./ca.pem }',
        "",
      ].join("\n"),
    );
    const lines = message.split("\n");
    const expect = (pattern: RegExp) =>
      assert.ok(
        lines.some((line) => pattern.test(line)),
        `${pattern}\n${message}`,
      );
    expect(
      /^sluice\.yaml:3:\d+: audit\.sinks\[0\]\.address: expected tcp:\/\/host:port, tls:\/\/host:port or udp:\/\/host:port$/,
    );
    expect(/^sluice\.yaml:4:\d+: audit\.sinks\[1\]\.facility: expected a syslog facility/);
    expect(/^sluice\.yaml:10:\d+: audit\.sinks\[7\]\.ca: only for tls:\/\/ addresses$/);
    expect(
      /^sluice\.yaml:5:\d+: audit\.sinks\[2\]\.url: plain http:\/\/ is allowed only on loopback; use https:\/\/$/,
    );
    expect(/^sluice\.yaml:5:\d+: audit\.sinks\[2\]\.secret: secrets must be given as env:VAR or file:path$/);
    expect(/^sluice\.yaml:6:\d+: audit\.sinks\[3\]\.batch_size: expected a number between 1 and 1000$/);
    expect(/^sluice\.yaml:6:\d+: audit\.sinks\[3\]\.timeout: expected a duration between 1s and 5m/);
    expect(/^sluice\.yaml:6:\d+: audit\.sinks\[3\]\.color: unknown key$/);
    expect(/^sluice\.yaml:8:\d+: audit\.sinks\[5\]\.address: the same receiver as sinks\[4\]$/);
    expect(/^sluice\.yaml:9:\d+: audit\.sinks\[6\]\.url: missing required key$/);
    expect(/^sluice\.yaml:9:\d+: audit\.sinks\[6\]\.secret: missing required key$/);
    assert.equal(message.includes("plain-text-secret"), false, "a value is never echoed");
  });

  it("reports an unreadable webhook secret at its line, and skips it when secrets are not needed", async () => {
    const text = [
      "audit:",
      "  sinks:",
      "    - { type: webhook, url: https://siem.example/hook, secret: env:MISSING_SECRET }",
      "",
    ].join("\n");
    assert.match(
      await messageOf(text),
      /^sluice\.yaml:3:\d+: audit\.sinks\[0\]\.secret: environment variable MISSING_SECRET is not set$/,
    );
    const skipped = await parse(text, {}, true);
    assert.equal((skipped.audit.sinks[0] as WebhookSinkConfig).secret, undefined);
  });

  it("reads a file: secret relative to the configuration file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sluice-sink-secret-"));
    try {
      await writeFile(join(dir, "siem-secret"), `${SECRET}\n`);
      const config = await parseConfig(
        "audit: { sinks: [{ type: webhook, url: https://siem.example/h, secret: file:./siem-secret }] }\n",
        "sluice.yaml",
        dir,
        { env: {} },
      );
      assert.equal((config.audit.sinks[0] as WebhookSinkConfig).secret, SECRET);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
