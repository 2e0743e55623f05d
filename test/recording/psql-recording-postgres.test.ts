import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";
import { sluice } from "../harness/sluice-cli.ts";

interface SessionRow {
  readonly id: string;
  readonly user: string;
  readonly statements: number;
  readonly status: string;
  readonly seal: string | null;
}

/** `recordings.storage: store`: a real psql session recorded into the PostgreSQL store, replayed by the CLI. */
describe("recording psql sessions into the PostgreSQL store", () => {
  let f: GatewayFixture;
  const savedPassword = process.env.PGPASSWORD;

  before(async () => {
    f = await startGatewayFixture({
      store: async (server) => {
        const admin = await server.admin();
        await admin.query("CREATE DATABASE sluice_store");
        await admin.end();
        // The store's password, as an operator gives it (the CLI children inherit it).
        process.env.PGPASSWORD = server.superPassword;
        return `postgres://${server.superuser}@${server.host}:${server.port}/sluice_store`;
      },
      extraConfig: "recordings:\n  storage: store\n",
    });
    const app = await f.app();
    await app.query("CREATE TABLE orders (id int, item text)");
    await app.query("INSERT INTO orders VALUES (1, 'pg-rec-marker')");
    await app.end();
  });
  after(async () => {
    await f?.stop();
    if (savedPassword === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = savedPassword;
  });

  async function storeSql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = await f.pg.admin("sluice_store");
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  async function sessions(): Promise<SessionRow[]> {
    const r = await sluice(["sessions", "-c", f.configPath, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as SessionRow);
  }

  test("the session lands in recording_chunks, lists, replays and verifies; an edited row is found", async () => {
    const token = await f.token("dana@corp.example", ["analysts"]);
    const r = await psql(f.conninfo(), token, [], {
      input: ["SELECT id, item FROM orders;", "DELETE FROM orders;"].join("\n"),
    });
    assert.match(r.stdout, /1\|pg-rec-marker/);
    assert.match(r.stderr, /denied/);

    let rows: SessionRow[] = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = (await sessions()).filter((s) => s.user === "dana@corp.example" && s.seal === "verified");
      if (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const id = rows.at(-1)?.id;
    assert.ok(id, "the session is listed, sealed and verified");
    assert.equal(rows.at(-1)?.statements, 2);
    // Nothing went to the recordings directory.
    assert.equal(existsSync(join(f.dir, "data", "recordings")), false);

    const stored = await storeSql<{ part: string; text: string }>(
      "SELECT part, text FROM recording_chunks WHERE session_id = $1 ORDER BY part",
      [id],
    );
    assert.ok(stored.length >= 6, `chunks and seal stored, got ${stored.length} rows`);
    assert.match(stored[0]!.text, /"type":"start"/);
    assert.match(stored.at(-1)!.text, /^\{"seal":/);

    const replay = await sluice(["replay", id, "-c", f.configPath]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /SELECT id, item FROM orders/);
    assert.match(replay.stdout, /pg-rec-marker/);
    assert.match(replay.stdout, /DELETE FROM orders/);
    assert.match(replay.stdout, /DENY .*no-unfiltered-writes-in-prod/);
    assert.match(replay.stdout, /sealed and verified/);
    const json = await sluice(["replay", id, "-c", f.configPath, "--format", "json"]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stdout, stored.map((row) => row.text).join(""));

    const verify = await sluice(["sessions", "verify", id, "-c", f.configPath]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /sealed and verified/);

    // Someone with write access to the store edits the DELETE into something harmless.
    const part = stored.find((row) => row.text.includes("DELETE FROM orders"))!.part;
    await storeSql(
      "UPDATE recording_chunks SET text = replace(text, 'DELETE FROM orders', 'SELECT 1') WHERE session_id = $1 AND part = $2",
      [id, part],
    );
    const broken = await sluice(["sessions", "verify", id, "-c", f.configPath]);
    assert.equal(broken.code, 1, broken.stdout + broken.stderr);
    assert.match(broken.stdout, /edited: /);
    assert.match(broken.stdout, /BROKEN/);

    const missing = await sluice(["replay", "no-such-session", "-c", f.configPath]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no recording of session no-such-session in postgres:\/\//);
  });
});
