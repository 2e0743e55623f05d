import assert from "node:assert/strict";
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { exportPKCS8, generateKeyPair } from "jose";
import type { SessionContext } from "../../src/core/index.ts";
import { importSigningKey, type SigningKey } from "../../src/identity/index.ts";
import {
  FileRecordingStore,
  resultEvent,
  SessionRecorder,
  statementEvent,
} from "../../src/recording/index.ts";
import { sluice } from "../harness/sluice-cli.ts";

const ALLOW = {
  effect: "allow",
  reasonCode: "rule-allowed",
  reason: "ok",
  ruleIds: ["read"],
  policyVersion: "v",
} as const;
const DENY = {
  effect: "deny",
  reasonCode: "rule-denied",
  reason: "no DDL",
  ruleIds: ["no-ddl"],
  policyVersion: "v",
} as const;

function session(id: string, user: string, connection = "pg-prod"): SessionContext {
  return {
    id,
    principal: { user, groups: ["engineers"], kind: "human" },
    connection: {
      name: connection,
      protocol: "postgres",
      labels: {},
      target: { host: "127.0.0.1", port: 5432 },
    },
    clientAddress: "127.0.0.1:40000",
  };
}

/** A statement that tries to forge a timeline line and clear the terminal. */
const INJECTION = "SELECT 1;\n10:00:05.000    +5.000s  > SELECT 'nothing to see'\u001b[2J\u001b[H\r";

describe("sluice sessions and sluice replay", () => {
  let root = "";
  let configPath = "";
  let recordings = "";
  let key: SigningKey;
  let clockMs = 0;
  const recorder = () =>
    new SessionRecorder({
      store: new FileRecordingStore({ dir: recordings, fsync: false }),
      signingKey: key,
      maxBytesPerSession: 1024 ** 2,
      maxRowsPerStatement: 50,
      now: () => clockMs,
    });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "sluice-sessions-cli-"));
    recordings = join(root, "recordings");
    configPath = join(root, "sluice.yaml");
    await mkdir(join(root, "data"));
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const pem = await exportPKCS8(privateKey);
    await writeFile(join(root, "data", "signing-key.pem"), pem, { mode: 0o600 });
    key = await importSigningKey(pem);
    await writeFile(
      configPath,
      "signing_key: file:./data/signing-key.pem\nrecordings:\n  dir: ./recordings\n  max_rows_per_statement: 50\n",
    );

    const r = recorder();
    // alice, sealed, 2025-06-01
    clockMs = Date.parse("2025-06-01T09:00:00.000Z");
    r.begin(session("alice-1", "alice@corp.example"));
    clockMs += 100;
    r.record("alice-1", statementEvent({ text: "SELECT id, email FROM users" }, ALLOW));
    clockMs += 7;
    r.record(
      "alice-1",
      resultEvent({
        columns: ["id", "email"],
        rows: [["1", "a***@corp.example"]],
        commandTag: "SELECT 1",
        durationMs: 7,
      }),
    );
    clockMs += 1000;
    r.record("alice-1", statementEvent({ text: "DROP TABLE users" }, DENY));
    r.record("alice-1", resultEvent({ error: { code: "42501", message: "no DDL" }, durationMs: 0 }));
    clockMs += 50;
    await r.end("alice-1", "client closed");
    // bob, unsealed (the gateway stopped), 2025-06-02, on pg-dev
    clockMs = Date.parse("2025-06-02T09:00:00.000Z");
    r.begin(session("bob-1", "bob@corp.example", "pg-dev"));
    clockMs += 10;
    r.record("bob-1", statementEvent({ text: "SELECT now()" }, ALLOW));
    await r.drain("bob-1");
    // mallory, sealed, 2025-06-03: statement and cell text that try to forge output
    clockMs = Date.parse("2025-06-03T09:00:00.000Z");
    r.begin(session("mallory-1", "mallory@corp.example"));
    clockMs += 10;
    r.record("mallory-1", statementEvent({ text: INJECTION }, ALLOW));
    r.record(
      "mallory-1",
      resultEvent({
        columns: ["x"],
        rows: [["line\n\u001b[31mforged"]],
        commandTag: "SELECT 1",
        durationMs: 1,
      }),
    );
    await r.end("mallory-1", "client closed");
    // carol, a terminal session, 2025-06-04
    clockMs = Date.parse("2025-06-04T09:00:00.000Z");
    r.begin(session("carol-1", "carol@corp.example"), { terminal: { width: 90, height: 20 } });
    clockMs += 40;
    r.record("carol-1", { type: "output", data: "\u001b[1m$ \u001b[0m" });
    clockMs += 500;
    r.record("carol-1", { type: "input", data: "id\r" });
    clockMs += 10;
    r.record("carol-1", { type: "output", data: "uid=1000(carol)\r\n" });
    clockMs += 100;
    r.record("carol-1", { type: "resize", width: 100, height: 25 });
    await r.end("carol-1", "exit");
  });
  after(() => rm(root, { recursive: true, force: true }));

  const run = (...args: string[]) => sluice(args);

  test("sessions lists every recording with its user, connection, times, statements and seal", async () => {
    const r = await run("sessions", "-c", configPath);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 5);
    assert.match(lines[0]!, /^ID +USER +CONNECTION +START +END +STATEMENTS +STATUS$/);
    assert.match(
      lines[1]!,
      /^alice-1 +alice@corp\.example +pg-prod +2025-06-01T09:00:00\.000Z +2025-06-01T09:00:01\.157Z +2 +sealed, verified$/,
    );
    assert.match(
      lines[2]!,
      /^bob-1 +bob@corp\.example +pg-dev +2025-06-02T09:00:00\.000Z +- +1 +unsealed \(gateway stopped\?\)$/,
    );
    assert.match(lines[3]!, /^mallory-1 .* sealed, verified$/);
    assert.match(lines[4]!, /^carol-1 +carol@corp\.example .* 0 +sealed, verified$/);
  });

  test("sessions filters by user, connection and start time, and --json prints one object per line", async () => {
    const byUser = await run("sessions", "-c", configPath, "--user", "bob@corp.example", "--json");
    assert.equal(byUser.code, 0, byUser.stderr);
    const [bob, ...rest] = byUser.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(rest, []);
    assert.deepEqual(
      {
        id: bob?.id,
        connection: bob?.connection,
        status: bob?.status,
        statements: bob?.statements,
        seal: bob?.seal,
      },
      { id: "bob-1", connection: "pg-dev", status: "unsealed", statements: 1, seal: null },
    );
    const byConnection = await run("sessions", "list", "-c", configPath, "--connection", "pg-dev");
    assert.match(byConnection.stdout, /bob-1/);
    assert.doesNotMatch(byConnection.stdout, /alice-1|mallory-1|carol-1/);
    const window = await run(
      "sessions",
      "-c",
      configPath,
      "--since",
      "2025-06-02T00:00:00Z",
      "--until",
      "2025-06-03T12:00:00Z",
      "--json",
    );
    const ids = window.stdout
      .trimEnd()
      .split("\n")
      .map((l) => (JSON.parse(l) as { id: string }).id);
    assert.deepEqual(ids, ["bob-1", "mallory-1"]);
    const bad = await run("sessions", "-c", configPath, "--until", "someday");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--until: "someday" is neither a duration like 7d nor a timestamp/);
  });

  test("replay prints an aligned timeline of statements, decisions and results", async () => {
    const r = await run("replay", "alice-1", "-c", configPath);
    assert.equal(r.code, 0, r.stderr);
    const pad = " ".repeat(24);
    assert.equal(
      r.stdout,
      [
        "recording alice-1",
        "user alice@corp.example  groups [engineers]  connection pg-prod (postgres)  from 127.0.0.1:40000",
        "started 2025-06-01T09:00:00.000Z",
        "09:00:00.000    +0.000s  * session start",
        "09:00:00.100    +0.100s  > SELECT id, email FROM users",
        `${pad}allow  rules [read]  rule-allowed`,
        "09:00:00.107    +0.107s  < SELECT 1  1 row  7 ms",
        `${pad}id | email`,
        `${pad}---+------------------`,
        `${pad}1  | a***@corp.example`,
        "09:00:01.107    +1.107s  > DROP TABLE users",
        `${pad}DENY  rules [no-ddl]  rule-denied: no DDL`,
        "09:00:01.107    +1.107s  < ERROR 42501: no DDL  0 ms",
        "09:00:01.157    +1.157s  * session end: client closed",
        "-- sealed and verified: 6 chunks",
        "",
      ].join("\n"),
    );
  });

  test("statement and cell text cannot forge timeline lines or terminal output", async () => {
    const r = await run("replay", "mallory-1", "-c", configPath);
    assert.equal(r.code, 0, r.stderr);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is that none are printed
    assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f]/);
    const lines = r.stdout.split("\n");
    assert.equal(lines.filter((l) => l.includes("SELECT 'nothing to see'")).length, 1);
    assert.ok(!lines.some((l) => l.startsWith("10:00:05.000")), "no line starts with the forged timestamp");
    assert.ok(
      lines.includes(
        "09:00:00.010    +0.010s  > SELECT 1;\\n10:00:05.000    +5.000s  > SELECT 'nothing to see'\\x1b[2J\\x1b[H\\r",
      ),
    );
    assert.ok(lines.includes(`${" ".repeat(24)}line\\n\\x1b[31mforged`));
    const cast = await run("replay", "mallory-1", "-c", configPath, "--format", "asciicast");
    for (const line of cast.stdout.trimEnd().split("\n").slice(1)) {
      const [, , data] = JSON.parse(line) as [number, string, string];
      // biome-ignore lint/suspicious/noControlCharactersInRegex: only the player's own line breaks
      assert.doesNotMatch(data.replaceAll("\r\n", ""), /[\u0000-\u001f\u007f]/);
    }
  });

  test("replay --format asciicast exports a terminal session as asciicast v2", async () => {
    const r = await run("replay", "carol-1", "-c", configPath, "--format", "asciicast");
    assert.equal(r.code, 0, r.stderr);
    const [header, ...events] = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(header, {
      version: 2,
      width: 90,
      height: 20,
      timestamp: Date.parse("2025-06-04T09:00:00Z") / 1000,
      title: "sluice carol-1: carol@corp.example on pg-prod",
    });
    assert.deepEqual(events, [
      [0.04, "o", "\u001b[1m$ \u001b[0m"],
      [0.54, "i", "id\r"],
      [0.55, "o", "uid=1000(carol)\r\n"],
      [0.65, "r", "100x25"],
    ]);
  });

  test("replay --format json prints the chunks and the seal as stored", async () => {
    const r = await run("replay", "alice-1", "-c", configPath, "--format", "json");
    const stored = await readFile(join(recordings, "alice-1.jsonl"), "utf8");
    assert.equal(r.stdout, stored);
  });

  test("sessions verify: 0 sealed and verified, 2 unsealed, 1 tampered (also replay --verify)", async () => {
    const ok = await run("sessions", "verify", "alice-1", "-c", configPath);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^recording alice-1: sealed and verified: 6 chunks\nlast hash: [0-9a-f]{64}\n$/);
    const unsealed = await run("sessions", "verify", "bob-1", "-c", configPath);
    assert.equal(unsealed.code, 2);
    assert.match(unsealed.stdout, /unsealed \(gateway stopped\?\): 2 chunks verified/);

    const copy = join(root, "tampered");
    await mkdir(copy);
    const original = await readFile(join(recordings, "alice-1.jsonl"), "utf8");
    await writeFile(join(copy, "alice-1.jsonl"), original.replace("DROP TABLE users", "SELECT 42"));
    const tampered = await run("sessions", "verify", "alice-1", "-c", configPath, "--dir", copy);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stdout, /^edited: line 4: chunk seq 4 does not match its hash/m);
    assert.match(tampered.stdout, /BROKEN: 1 problem; chunks verified through seq 3/);
    const json = await run("sessions", "verify", "alice-1", "-c", configPath, "--dir", copy, "--json");
    assert.equal((JSON.parse(json.stdout) as { status: string }).status, "broken");
    const replayed = await run("replay", "alice-1", "-c", configPath, "--dir", copy, "--verify");
    assert.equal(replayed.code, 1);
    assert.match(replayed.stdout, /> SELECT 42/);
    assert.match(replayed.stdout, /-- BROKEN/);
    assert.match(replayed.stderr, /edited: line 4/);

    // A seal without the right key is not "verified": no configuration, only --dir.
    const noKey = await run(
      "sessions",
      "verify",
      "alice-1",
      "-c",
      join(root, "missing.yaml"),
      "--dir",
      recordings,
    );
    assert.equal(noKey.code, 2);
    assert.match(noKey.stdout, /seal signature not checked/);
  });

  test("a torn last line is reported as torn, not as tampering", async () => {
    const copy = join(root, "torn");
    await mkdir(copy);
    await writeFile(join(copy, "bob-1.jsonl"), await readFile(join(recordings, "bob-1.jsonl")));
    await appendFile(join(copy, "bob-1.jsonl"), '{"seq":3,"t":20,"dir":"out","ev');
    const r = await run("sessions", "verify", "bob-1", "-c", configPath, "--dir", copy);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /unsealed \(gateway stopped\?\): 2 chunks verified; torn last line 3 ignored/);
  });

  test("replay --follow prints a live recording until it is sealed", async () => {
    const live = recorder();
    clockMs = Date.parse("2025-06-05T09:00:00.000Z");
    live.begin(session("dave-1", "dave@corp.example"));
    live.record("dave-1", statementEvent({ text: "SELECT 'before'" }, ALLOW));
    await live.drain("dave-1");
    const following = run("replay", "dave-1", "-c", configPath, "--follow", "--interval", "50");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    clockMs += 2000;
    live.record("dave-1", statementEvent({ text: "SELECT 'while following'" }, ALLOW));
    await live.drain("dave-1");
    await new Promise((resolve) => setTimeout(resolve, 300));
    await live.end("dave-1", "client closed");
    const r = await following;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /> SELECT 'before'\n/);
    assert.match(r.stdout, /\+2\.000s {2}> SELECT 'while following'\n/);
    assert.match(r.stdout, /\* session end: client closed\n-- sealed and verified: 4 chunks\n$/);
  });

  test("replay names a missing recording and refuses ids that are not ids", async () => {
    const missing = await run("replay", "nobody-1", "-c", configPath);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no recording of session nobody-1 in /);
    const traversal = await run("replay", "../sluice", "-c", configPath);
    assert.equal(traversal.code, 1);
    assert.match(traversal.stderr, /not a session id: "\.\.\/sluice"/);
  });
});
