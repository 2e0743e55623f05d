import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { configYaml } from "../harness/config-yaml.ts";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { LivePsql } from "../harness/live-psql.ts";
import { psql } from "../harness/psql.ts";
import { sluice } from "../harness/sluice-cli.ts";
import { startServe } from "../harness/sluice-serve.ts";

/** Statement text written to look like log lines and terminal control. */
const INJECTIONS = [
  "SELECT 1 -- \n2026-01-01T00:00:00Z action.allowed  admin  pg-prod  [all] \u001b[2J\u001b[31mOK",
  'SELECT \'line one\r\nline two\u2028{"seq":1,"type":"action.allowed"}\' AS forged',
  "SELECT $$\u001b]0;owned\u0007$$",
];

interface Line {
  seq: number;
  type: string;
  prev_hash: string;
  hash: string;
  data: { action?: { text?: string } } | null;
}

const parseLines = (text: string): Line[] =>
  text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Line);

const hasRaw = (text: string, characters: string): boolean => [...characters].some((c) => text.includes(c));

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("the tamper-evident audit trail", () => {
  let f: GatewayFixture;
  let dbPath: string;
  let sinkPath: string;
  const logs: string[] = [];
  before(async () => {
    f = await startGatewayFixture({
      log: (message) => logs.push(message),
      extraConfig: [
        "audit:",
        "  sinks: [{ type: jsonl, path: file:./audit.jsonl }]",
        "  retention: { default: 1d, action.denied: 3650d }",
        "",
      ].join("\n"),
    });
    dbPath = join(f.dir, "data", "sluice.db");
    sinkPath = join(f.dir, "audit.jsonl");
    const token = await f.token("mallory@corp.example", ["engineers"]);
    // The first is not valid SQL (denied); all three are recorded as they were sent.
    for (const statement of INJECTIONS) await psql(f.conninfo(), token, ["-c", statement]);
    await psql(f.conninfo(), token, ["-c", "DROP TABLE nothing_here"]);
    const analyst = await f.token("carol@corp.example", ["analysts"]);
    for (let i = 0; i < 4; i++) await psql(f.conninfo(), analyst, ["-c", `SELECT ${i}`]);
    await f.gateway.drainAuditSinks();
  });
  after(() => f.stop());

  /** A consistent copy of the live store in a file of its own, with a configuration that uses it. */
  async function snapshot(name: string): Promise<{ config: string; db: string }> {
    const db = join(f.dir, "data", `${name}.db`);
    const source = new Database(dbPath, { readonly: true });
    await source.backup(db);
    source.close();
    const config = join(f.dir, `${name}.yaml`);
    const connections = [{ name: "pg-prod", env: "prod", port: f.pg.port, passwordFile: "./app-password" }];
    writeFileSync(config, configYaml({ connections, store: `sqlite:./data/${name}.db` }));
    return { config, db };
  }

  test("audit verify proves the chain, checks the signed checkpoint and prints the head to record", async () => {
    await f.gateway.checkpointAudit();
    const r = await sluice(["audit", "verify", "-c", f.configPath]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^audit chain OK: \d+ events, seq 1\.\.\d+ /m);
    assert.match(r.stdout, /^checkpoints: 1 signed by the gateway verified, the last at seq \d+$/m);
    const head = /^head: (\d+:[0-9a-f]{64})$/m.exec(r.stdout)?.[1];
    assert.ok(head, r.stdout);
    const again = await sluice(["audit", "verify", "-c", f.configPath, "--expect-head", head, "--json"]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const report = JSON.parse(again.stdout) as { ok: boolean; events: number; problems: unknown[] };
    assert.equal(report.ok, true);
    assert.deepEqual(report.problems, []);
    assert.equal(report.events, Number(head.split(":")[0]));
  });

  test("export gives every event exactly once, injection text intact as data, one event per line", async () => {
    const r = await sluice(["audit", "export", "-c", f.configPath, "--format", "jsonl"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!hasRaw(r.stdout, "\u001b\u0007\r\u2028"), "no raw control character or line separator");
    const lines = parseLines(r.stdout);
    const head = (await f.gateway.store.auditHead())!;
    assert.deepEqual(
      lines.map((l) => l.seq),
      range(1, head.seq),
    );
    for (const [i, line] of lines.entries()) {
      if (i > 0) assert.equal(line.prev_hash, lines[i - 1]?.hash);
    }
    const texts = lines.map((l) => l.data?.action?.text);
    for (const statement of INJECTIONS) assert.ok(texts.includes(statement), JSON.stringify(statement));

    const rest = await sluice(["audit", "export", "-c", f.configPath, "--after-seq", "5"]);
    assert.deepEqual(
      parseLines(rest.stdout).map((l) => l.seq),
      range(6, head.seq),
    );
    const exported = join(f.dir, "export.jsonl");
    writeFileSync(exported, rest.stdout);
    const offline = await sluice(["audit", "verify", "-c", f.configPath, "--file", exported]);
    assert.equal(offline.code, 0, offline.stdout + offline.stderr);
    assert.match(offline.stdout, /audit chain OK: \d+ events, seq 6\.\./);
  });

  test("audit search shows the injection text escaped", async () => {
    const r = await sluice(["audit", "search", "-c", f.configPath, "--user", "mallory@corp.example"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!hasRaw(r.stdout, "\u001b\u0007\r"), "no raw control character");
    assert.equal(r.stdout.split("\n").filter((l) => l.includes("action.")).length, INJECTIONS.length + 1);
  });

  test("the live file sink holds every event exactly once", async () => {
    await f.gateway.drainAuditSinks();
    const head = (await f.gateway.store.auditHead())!;
    assert.deepEqual(
      parseLines(readFileSync(sinkPath, "utf8")).map((l) => l.seq),
      range(1, head.seq),
    );
    assert.equal((JSON.parse(readFileSync(`${sinkPath}.cursor`, "utf8")) as { seq: number }).seq, head.seq);
  });

  const tampering: [string, RegExp, (db: Database.Database) => void][] = [
    [
      "an edited statement",
      /^seq \d+: edited: /m,
      (db) => {
        db.prepare(
          "UPDATE audit_events SET data = replace(data, 'DROP TABLE nothing_here', 'SELECT 1') WHERE data LIKE '%DROP TABLE nothing_here%'",
        ).run();
      },
    ],
    [
      "a deleted denial",
      /^seq (\d+): deleted: missing between seq \d+ and seq \d+$/m,
      (db) => {
        db.prepare("DELETE FROM audit_events WHERE type = 'action.denied'").run();
      },
    ],
    [
      "two swapped events",
      /^seq 3: reordered: moved 1 place earlier than written\nseq 4: reordered: moved 1 place later than written$/m,
      (db) => {
        db.exec(`UPDATE audit_events SET seq = -1 WHERE seq = 3;
          UPDATE audit_events SET seq = 3 WHERE seq = 4;
          UPDATE audit_events SET seq = 4 WHERE seq = -1;`);
      },
    ],
  ];
  for (const [name, expected, change] of tampering) {
    test(`audit verify exits 1 and names ${name} in the SQLite file`, async () => {
      const copy = await snapshot(name.replaceAll(" ", "-"));
      const db = new Database(copy.db);
      change(db);
      db.close();
      const r = await sluice(["audit", "verify", "-c", copy.config]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, expected, r.stdout + r.stderr);
      assert.match(r.stdout, /^audit chain BROKEN: \d+ problems? in \d+ events/m);
      const json = await sluice(["audit", "verify", "-c", copy.config, "--json"]);
      assert.equal(json.code, 1);
      assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, false);
    });
  }

  test("retention removes what is past it, records the removal, and the chain still verifies", async () => {
    const twoDaysOn = new Date(Date.now() + 2 * 86_400_000);
    const summary = await f.gateway.applyAuditRetention(twoDaysOn);
    assert.ok(summary && summary.steps >= 1, JSON.stringify(summary) + logs.join("\n"));
    const rows = await f.gateway.store.readAuditChain({ limit: 10_000 });
    assert.ok(summary.deleted >= 1 && rows[0]!.seq > 1, "the oldest rows, up to the first denial, are gone");
    // Denials are kept ten years and keep their bodies; everything else before them is gone.
    assert.ok(rows.filter((r) => r.type === "action.denied").every((r) => r.dataJson !== null));
    assert.ok(rows.filter((r) => r.type === "action.allowed").every((r) => r.dataJson === null));
    const recorded = rows.filter((r) => r.type === "audit.retention_applied");
    assert.equal(recorded.length, summary.steps);
    const data = JSON.parse(recorded[0]!.dataJson!) as { deleted: { to_seq: number; last_hash: string } };
    assert.equal(data.deleted.to_seq, rows[0]!.seq - 1);
    assert.equal(data.deleted.last_hash, rows[0]!.prevHash);

    const r = await sluice(["audit", "verify", "-c", f.configPath]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^retention: seq 1\\.\\.${rows[0]!.seq - 1} deleted, as recorded$`, "m"),
    );
    assert.match(r.stdout, /^retention: \d+ event bodies removed, as recorded$/m);

    // The sink had exported everything before; it now adds the retention records, once.
    await f.gateway.drainAuditSinks();
    const head = (await f.gateway.store.auditHead())!;
    assert.deepEqual(
      parseLines(readFileSync(sinkPath, "utf8")).map((l) => l.seq),
      range(1, head.seq),
    );
  });

  test("the file sink delivers every event exactly once across a killed and restarted gateway", async () => {
    const config = join(f.dir, "serve.yaml");
    writeFileSync(
      config,
      configYaml({
        connections: [{ name: "pg-prod", env: "prod", port: f.pg.port, passwordFile: "./app-password" }],
        store: "sqlite:./data/serve.db",
        extra: "audit: { sinks: [{ type: jsonl, path: file:./serve-audit.jsonl }] }",
      }),
    );
    const sinkFile = join(f.dir, "serve-audit.jsonl");
    const token = await f.token("dave@corp.example", ["engineers"]);
    const exported = (): number[] =>
      existsSync(sinkFile) ? parseLines(readFileSync(sinkFile, "utf8")).map((l) => l.seq) : [];

    /** Runs statements in one session until told to stop (or the gateway goes away). */
    const traffic = (port: number) => {
      const client = new LivePsql(
        `host=127.0.0.1 port=${port} dbname=pg-prod user=tester sslmode=require`,
        token,
      );
      let running = true;
      let count = 0;
      const done = (async () => {
        while (running && !client.exited) {
          await client.run(`SELECT ${count++};`).catch(() => {});
        }
      })();
      return {
        async stop() {
          running = false;
          await done;
          await client.close();
        },
      };
    };

    const first = await startServe(config);
    const load = traffic(first.port);
    for (let i = 0; i < 2400 && exported().length < 20; i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(
      exported().length >= 20,
      `the sink was exporting while traffic ran: ${exported().length} ${first.stderr()}`,
    );
    // A crash in mid-traffic: no clean shutdown, no final drain.
    assert.equal(await first.stop("SIGKILL"), null);
    await load.stop();

    const second = await startServe(config);
    const more = traffic(second.port);
    await new Promise((r) => setTimeout(r, 500));
    await more.stop();
    assert.equal(await second.stop("SIGTERM"), 0, second.stderr());

    const store = new Database(join(f.dir, "data", "serve.db"), { readonly: true });
    const { head } = store.prepare("SELECT max(seq) AS head FROM audit_events").get() as { head: number };
    store.close();
    assert.ok(head > 20);
    assert.deepEqual(exported(), range(1, head));
    // The clean stop signed the head last; the crash left no checkpoint.
    const lines = parseLines(readFileSync(sinkFile, "utf8"));
    assert.equal(lines.at(-1)?.type, "audit.checkpoint");
    assert.equal(lines.filter((l) => l.type === "audit.checkpoint").length, 1);
    const verified = await sluice(["audit", "verify", "-c", config]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(
      verified.stdout,
      new RegExp(`^checkpoints: 1 signed by the gateway verified, the last at seq ${head}$`, "m"),
    );
  });
});
