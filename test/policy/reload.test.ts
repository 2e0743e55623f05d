import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { configYaml } from "../harness/config-yaml.ts";
import { type GatewayFixture, startGatewayFixture, TEST_POLICY } from "../harness/gateway-fixture.ts";
import { LivePsql } from "../harness/live-psql.ts";
import { REPO_ROOT } from "../harness/sluice-cli.ts";

const NO_ORDER_READS = `  - id: no-order-reads
    match: { connections: [pg-prod] }
    when: '"orders" in sql.tables'
    effect: deny
    reason: orders are closed for reading
`;

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error("timed out");
    await sleep(25);
  }
}

describe("policy reload in a running gateway", () => {
  let f: GatewayFixture;
  let analyst: string;
  let policyFile: string;

  before(async () => {
    f = await startGatewayFixture();
    analyst = await f.token("alice@corp.example", ["analysts"]);
    policyFile = join(f.dir, "policies", "test.yaml");
    const app = await f.app();
    await app.query("CREATE TABLE orders (id int PRIMARY KEY, note text)");
    await app.query("INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 5) g");
    await app.end();
  });
  after(() => f.stop());

  const events = (type: string) => f.gateway.store.searchAudit({ type, limit: 1000 });

  test("a rule added to the policy directory is enforced on a live psql session, without reconnecting", async () => {
    const session = new LivePsql(f.conninfo(), analyst);
    try {
      const pid = (await session.run("SELECT pg_backend_pid();")).stdout;
      assert.match(pid, /^\d+$/);
      const before = await session.run("SELECT count(*) FROM orders;");
      assert.equal(before.stderr, "");
      assert.equal(before.stdout, "5");

      const oldVersion = f.gateway.policyVersion();
      writeFileSync(policyFile, `${TEST_POLICY}${NO_ORDER_READS}`);
      // The watcher reloads after the debounce; nothing else is asked of the gateway.
      await until(() => (f.gateway.policyVersion() !== oldVersion ? true : undefined));

      const afterReload = await session.run("SELECT count(*) FROM orders;");
      assert.equal(afterReload.stdout, "");
      assert.match(
        afterReload.stderr,
        /ERROR: {2}sluice: denied by rule no-order-reads: orders are closed for reading/,
      );
      // The same client process and the same server backend: the session was never re-opened.
      assert.equal((await session.run("SELECT pg_backend_pid();")).stdout, pid);
      assert.equal(session.exited, false);

      const reloaded = await until(async () => {
        const found = (await events("policy.reloaded")).find((e) => e.data.new_version !== oldVersion);
        return found;
      });
      assert.equal(reloaded.data.old_version, oldVersion);
      assert.equal(reloaded.data.new_version, f.gateway.policyVersion());
      assert.equal(reloaded.data.trigger, "watch");
    } finally {
      await session.close();
    }
  });

  test("an invalid bundle is reported and the last good one stays in force", async () => {
    writeFileSync(policyFile, `${TEST_POLICY}${NO_ORDER_READS}`);
    const good = await f.gateway.reloadPolicy();
    assert.equal(good.ok, true);
    const failedBefore = (await events("policy.reload_failed")).length;

    writeFileSync(policyFile, `${TEST_POLICY}${NO_ORDER_READS.replace("sql.tables", "sql.tablez")}`);
    const result = await f.gateway.reloadPolicy();
    assert.equal(result.ok, false);
    assert.equal(result.version, good.version);
    assert.equal(f.gateway.policyVersion(), good.version);
    assert.match(
      result.diagnostics?.map((d) => `rule ${d.ruleId}: ${d.message}`).join("\n") ?? "",
      /rule no-order-reads: unknown field sql\.tablez/,
    );

    // The old rule is still enforced.
    const session = new LivePsql(f.conninfo(), analyst);
    try {
      const r = await session.run("SELECT count(*) FROM orders;");
      assert.match(r.stderr, /denied by rule no-order-reads/);
    } finally {
      await session.close();
    }

    const failed = (await events("policy.reload_failed")).slice(failedBefore);
    assert.ok(failed.length >= 1);
    const event = failed.find((e) => e.data.trigger === "call");
    assert.ok(event, "an event for the explicit reload");
    assert.equal(event.data.current_version, good.version);
    const diagnostics = event.data.diagnostics as { file: string; line: number; message: string }[];
    assert.ok(diagnostics.length > 0);
    assert.equal(diagnostics[0]?.file, policyFile);
    assert.ok((diagnostics[0]?.line ?? 0) > 0);

    // Put the test policy back for the next tests (and wait for the watcher to settle).
    writeFileSync(policyFile, TEST_POLICY);
    assert.equal((await f.gateway.reloadPolicy()).ok, true);
  });

  test("POST /admin/policy/reload needs a token of a sluice-admins member", async () => {
    const url = `http://127.0.0.1:${f.gateway.http.port}/admin/policy/reload`;
    const post = (token?: string) =>
      fetch(url, { method: "POST", ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });

    const anonymous = await post();
    assert.equal(anonymous.status, 401);
    assert.equal((await post("not-a-token")).status, 401);
    assert.equal((await post(analyst)).status, 403);
    assert.equal((await fetch(url)).status, 405);

    const admin = await f.gateway.issuer.issue({
      user: "ops@corp.example",
      groups: ["sluice-admins"],
      kind: "human",
      ttlSeconds: 300,
    });
    writeFileSync(policyFile, `${TEST_POLICY}${NO_ORDER_READS}`);
    const ok = await post(admin);
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { ok: boolean; version: string };
    assert.equal(body.ok, true);
    assert.equal(body.version, f.gateway.policyVersion());
    const recorded = (await events("policy.reloaded")).filter((e) => e.data.trigger === "admin-api");
    assert.equal(recorded.at(-1)?.user, "ops@corp.example");

    writeFileSync(policyFile, "apiVersion: sluice/v2\n");
    const invalid = await post(admin);
    assert.equal(invalid.status, 422);
    const failure = (await invalid.json()) as { ok: boolean; version: string; diagnostics: unknown[] };
    assert.equal(failure.ok, false);
    assert.equal(failure.version, body.version);
    assert.ok(failure.diagnostics.length > 0);

    writeFileSync(policyFile, TEST_POLICY);
    assert.equal((await f.gateway.reloadPolicy()).ok, true);
  });
});

describe("sluice serve reloads the policy on SIGHUP", () => {
  let dir: string;
  let child: ChildProcess | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sluice-serve-"));
    mkdirSync(join(dir, "policies"));
    writeFileSync(join(dir, "policies", "p.yaml"), TEST_POLICY);
    writeFileSync(join(dir, "pw"), "x\n");
    writeFileSync(
      join(dir, "sluice.yaml"),
      configYaml({ connections: [{ name: "pg-prod", env: "prod", port: 1, passwordFile: "./pw" }] }),
    );
  });
  after(() => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  test("SIGHUP swaps in the edited policy (file watching off)", async () => {
    const serve = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "serve", "-c", join(dir, "sluice.yaml"), "--no-watch"],
      { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
    child = serve;
    let stderr = "";
    serve.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const port = await until(() => /http 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1], 30_000);
    const health = async () =>
      ((await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { policy_version: string })
        .policy_version;
    const first = await health();

    writeFileSync(join(dir, "policies", "p.yaml"), `${TEST_POLICY}${NO_ORDER_READS}`);
    await sleep(500);
    assert.equal(await health(), first, "not reloaded without a signal (--no-watch)");

    serve.kill("SIGHUP");
    const second = await until(async () => {
      const version = await health();
      return version !== first ? version : undefined;
    });
    assert.match(second, /^sha256:[0-9a-f]{64}$/);
    assert.match(stderr, /policy: reloaded \(signal\)/);

    writeFileSync(join(dir, "policies", "p.yaml"), "rules: [broken\n");
    serve.kill("SIGHUP");
    await until(() => (/reload \(signal\) failed/.test(stderr) ? true : undefined));
    assert.equal(await health(), second);

    const exited = new Promise<number | null>((resolve) => serve.once("exit", (code) => resolve(code)));
    serve.kill("SIGTERM");
    assert.equal(await exited, 0);
    child = undefined;
  });
});
