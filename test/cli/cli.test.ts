import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";
import { sluice as runCli } from "../harness/sluice-cli.ts";

describe("the sluice command line", () => {
  let f: GatewayFixture;
  before(async () => {
    f = await startGatewayFixture();
  });
  after(() => f.stop());

  test("token issue prints the token alone, and psql logs in with it", async () => {
    const issued = await runCli([
      "token",
      "issue",
      "-c",
      f.configPath,
      "--user",
      "carol@corp.example",
      "--groups",
      "analysts,oncall",
      "--ttl",
      "10m",
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim();
    assert.match(issued.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const r = await psql(f.conninfo(), token, ["-c", "SELECT 'hello from carol'"]);
    assert.equal(r.stdout.trim(), "hello from carol");
  });

  test("token issue rejects a bad duration", async () => {
    const r = await runCli(["token", "issue", "-c", f.configPath, "--user", "x@y", "--ttl", "soon"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--ttl: "soon" is not a duration/);
    assert.equal(r.stdout, "");
  });

  test("audit search filters by user and decision, and --json prints one object per line", async () => {
    const token = await f.token("dave@corp.example", ["engineers"]);
    await psql(f.conninfo(), token, ["-c", "SELECT 1"]);
    await psql(f.conninfo(), token, ["-c", "DROP TABLE nothing_here"]);
    const denied = await runCli([
      "audit",
      "search",
      "-c",
      f.configPath,
      "--user",
      "dave@corp.example",
      "--decision",
      "deny",
      "--since",
      "1h",
      "--json",
    ]);
    assert.equal(denied.code, 0, denied.stderr);
    const events = denied.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; user: string; data: { action: { text: string } } });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, "action.denied");
    assert.equal(events[0]?.data.action.text, "DROP TABLE nothing_here");
    const all = await runCli(["audit", "search", "-c", f.configPath, "--user", "dave@corp.example"]);
    assert.match(
      all.stdout,
      /action\.allowed .*dave@corp\.example {2}pg-prod {2}\[engineers-write\] {2}"SELECT 1"/,
    );
    assert.match(
      all.stdout,
      /action\.denied .*\[no-drop-in-prod\] {2}"DROP TABLE nothing_here" {2}reason: DROP and TRUNCATE/,
    );
  });

  test("statement text cannot forge lines in audit search output", async () => {
    const token = await f.token("mallory@corp.example", ["engineers"]);
    await psql(f.conninfo(), token, [
      "-c",
      "SELECT 1 -- \n2026-01-01T00:00:00Z action.allowed  admin  \u001b[2J",
    ]);
    const r = await runCli(["audit", "search", "-c", f.configPath, "--user", "mallory@corp.example"]);
    const actionLines = r.stdout.split("\n").filter((line) => line.includes("action."));
    assert.equal(actionLines.length, 1);
    assert.ok(!r.stdout.includes("\u001b"), "no raw escape character reaches the terminal");
    assert.match(r.stdout, /\\n2026-01-01T00:00:00Z action\.allowed {2}admin {2}\\x1b\[2J/);
  });

  test("serve refuses an invalid configuration, naming file, line and key", async () => {
    const bad = join(f.dir, "bad.yaml");
    writeFileSync(
      bad,
      [
        "listeners: { http: 127.0.0.1:0, postgres: 127.0.0.1:0 }",
        "connections:",
        "  - name: pg-x",
        "    protocol: postgres",
        "    target: { host: 127.0.0.1, port: 99999, database: app, user: app, password: hunter2 }",
        "",
      ].join("\n"),
    );
    const r = await runCli(["serve", "-c", bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.yaml:5:\d+: connections\[0\]\.target\.port: /);
    assert.match(r.stderr, /bad\.yaml:5:\d+: connections\[0\]\.target\.password: .*env:VAR or file:path/);
    assert.doesNotMatch(r.stderr, /hunter2/);
  });
});
