import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type GatewayFixture, startGatewayFixture, TEST_POLICY } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";
import { sluice } from "../harness/sluice-cli.ts";
import { startServe } from "../harness/sluice-serve.ts";

const EMAIL = "sentinel.rec@example.com";

const POLICY = `${TEST_POLICY}
  - id: mask-email
    match: { protocols: [postgres] }
    effect: mask
    mask: { columns: [customers.email], strategy: redact }
`;

interface SessionRow {
  readonly id: string;
  readonly user: string;
  readonly statements: number;
  readonly status: string;
  /** `verified` when sealed and the seal checks out; null while unsealed. */
  readonly seal: string | null;
}

describe("recording psql sessions", () => {
  let f: GatewayFixture;
  let analyst: string;

  const sessions = async (): Promise<SessionRow[]> => {
    const r = await sluice(["sessions", "-c", f.configPath, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .trim()
      .split("\n")
      .filter((l) => l.length > 0)
      .flatMap((l) => {
        const parsed = JSON.parse(l) as SessionRow | SessionRow[];
        return Array.isArray(parsed) ? parsed : [parsed];
      });
  };

  before(async () => {
    f = await startGatewayFixture({ policy: POLICY });
    analyst = await f.token("alice@corp.example", ["analysts"]);
    const app = await f.app();
    await app.query("CREATE TABLE customers (id int, name text, email text)");
    await app.query("INSERT INTO customers VALUES (1, 'Alice', $1)", [EMAIL]);
    await app.end();
  });
  after(() => f.stop());

  test("allowed, denied and masked statements replay with the masked value, never the original", async () => {
    const r = await psql(f.conninfo(), analyst, [], {
      input: [
        "SELECT id, name, email FROM customers;",
        // A statement that tries to forge a timeline line and clear the terminal on replay.
        "SELECT 'x\n10:00:00.000 +0.000s > SELECT 1\u001b[2J' AS forged;",
        "DELETE FROM customers;",
      ].join("\n"),
    });
    assert.match(r.stdout, /1\|Alice\|\[MASKED\]/);
    assert.match(r.stderr, /denied/);
    // The session's recording is sealed when it ends.
    let rows: SessionRow[] = [];
    for (let i = 0; i < 50; i++) {
      rows = (await sessions()).filter((s) => s.user === "alice@corp.example" && s.seal === "verified");
      if (rows.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const id = rows.at(-1)?.id;
    assert.ok(id, "the session is listed and sealed");

    const replay = await sluice(["replay", id, "-c", f.configPath]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /SELECT id, name, email FROM customers/);
    assert.match(replay.stdout, /\[MASKED\]/);
    assert.match(replay.stdout, /Alice/);
    assert.match(replay.stdout, /DELETE FROM customers/);
    assert.match(replay.stdout, /DENY .*no-unfiltered-writes-in-prod/);
    assert.match(replay.stdout, /forged/);
    assert.ok(!replay.stdout.includes(EMAIL), "the replay never shows the original value");
    assert.ok(!replay.stdout.includes("\u001b"), "escape sequences are shown escaped");
    assert.ok(
      !replay.stdout.split("\n").some((line) => line.startsWith("10:00:00.000 +0.000s")),
      "a statement cannot forge a timeline line",
    );
    const json = await sluice(["replay", id, "-c", f.configPath, "--format", "json"]);
    assert.ok(!json.stdout.includes(EMAIL));
    const verify = await sluice(["sessions", "verify", id, "-c", f.configPath]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  test("a killed gateway leaves a recording that verifies up to its last chunk", async () => {
    const serve = await startServe(f.configPath);
    const conninfo = `host=127.0.0.1 port=${serve.port} dbname=pg-prod user=tester sslmode=require`;
    // The second statement keeps the session open while the gateway is killed.
    const running = psql(conninfo, analyst, [
      "-c",
      "SELECT name FROM customers",
      "-c",
      "SELECT pg_sleep(10)",
    ]);
    try {
      // Well past the recorder's flush interval: what ran is on disk; the session is still open.
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      await serve.stop("SIGKILL");
    }
    const r = await running;
    assert.match(r.stdout, /Alice/);
    assert.notEqual(r.code, 0, "psql lost its gateway mid-statement");
    const all = await sessions();
    const unsealed = all.filter((s) => s.seal === null);
    assert.ok(unsealed.length >= 1, "the killed gateway's session is unsealed");
    const id = unsealed.at(-1)!.id;
    assert.ok(unsealed.at(-1)!.statements >= 1, "the statement before the kill is in the recording");
    const verify = await sluice(["sessions", "verify", id, "-c", f.configPath]);
    // Exit 2: intact up to its last chunk, but never sealed.
    assert.equal(verify.code, 2, verify.stdout + verify.stderr);
    assert.match(verify.stdout + verify.stderr, /unsealed/);
  });
});
