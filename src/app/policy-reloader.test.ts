import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AuditLog } from "../audit/index.ts";
import { loadPolicyBundle, PolicyEngine } from "../policy/index.ts";
import { SqliteStore } from "../store/index.ts";
import { PolicyReloader } from "./policy-reloader.ts";

const policy = (id: string, effect = "allow") =>
  `apiVersion: sluice/v1\nrules:\n  - id: ${id}\n    effect: ${effect}\n`;

describe("PolicyReloader", () => {
  let dir: string;
  let store: SqliteStore;
  let engine: PolicyEngine;
  let reloader: PolicyReloader;
  let logs: string[];

  const events = async (type: string) => (await store.searchAudit({ type })).map((e) => e.data);
  const until = async (check: () => Promise<boolean> | boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error("timed out");
      await sleep(20);
    }
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-reload-"));
    await writeFile(join(dir, "p.yaml"), policy("first"));
    store = new SqliteStore(":memory:");
    engine = new PolicyEngine(await loadPolicyBundle(dir));
    logs = [];
    reloader = new PolicyReloader({
      dir,
      engine,
      timeZone: "UTC",
      audit: new AuditLog(store),
      log: (m) => logs.push(m),
      debounceMs: 50,
    });
  });
  afterEach(async () => {
    await reloader.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("swaps in a valid bundle and records old and new versions", async () => {
    const old = engine.version;
    await writeFile(join(dir, "p.yaml"), policy("second"));
    const result = await reloader.reload("call", "ops@corp.example");
    assert.equal(result.ok, true);
    assert.equal(result.changed, true);
    assert.equal(result.previousVersion, old);
    assert.equal(engine.version, result.version);
    assert.deepEqual(
      engine.bundle.rules.map((r) => r.id),
      ["second"],
    );
    const [event] = await store.searchAudit({ type: "policy.reloaded" });
    assert.equal(event?.user, "ops@corp.example");
    assert.deepEqual(event?.data, {
      trigger: "call",
      changed: true,
      old_version: old,
      new_version: result.version,
      rules: 1,
    });
  });

  it("keeps the last good bundle when the new one is invalid, and records the diagnostics", async () => {
    const good = engine.bundle;
    await writeFile(join(dir, "p.yaml"), `${policy("broken")}    when: sql.kindz\n`);
    const result = await reloader.reload("signal");
    assert.equal(result.ok, false);
    assert.equal(result.changed, false);
    assert.equal(result.version, good.version);
    assert.equal(engine.bundle, good);
    assert.match(result.diagnostics?.[0]?.message ?? "", /unknown field sql\.kindz/);
    const [failed] = await events("policy.reload_failed");
    assert.equal(failed?.trigger, "signal");
    assert.equal(failed?.current_version, good.version);
    assert.deepEqual(failed?.diagnostics, [
      {
        file: `${dir}/p.yaml`,
        line: 5,
        column: 15,
        rule_id: "broken",
        message: "unknown field sql.kindz (did you mean sql.kinds?)",
      },
    ]);
    assert.match(logs.join("\n"), /reload \(signal\) failed, keeping sha256:/);
  });

  it("reloads when a policy file changes (debounced), and reports a broken file once", async () => {
    reloader.watch();
    const first = engine.version;
    await writeFile(join(dir, "p.yaml"), policy("watched"));
    await writeFile(join(dir, "p.yaml"), policy("watched-again"));
    await until(() => engine.bundle.rules[0]?.id === "watched-again");
    assert.notEqual(engine.version, first);
    await until(async () => (await events("policy.reloaded")).length === 1);

    await writeFile(join(dir, "p.yaml"), "apiVersion: sluice/v1\nrules: [oops\n");
    await until(async () => (await events("policy.reload_failed")).length === 1);
    await writeFile(join(dir, "p.yaml"), "apiVersion: sluice/v1\nrules: [oops\n");
    await writeFile(join(dir, "notes.txt"), "touch");
    await sleep(300);
    assert.equal((await events("policy.reload_failed")).length, 1);
    assert.equal(engine.bundle.rules[0]?.id, "watched-again");

    // Fixing the file back to the bundle in force is recorded too (the failure is over).
    await writeFile(join(dir, "p.yaml"), policy("watched-again"));
    await until(async () => (await events("policy.reloaded")).length === 2);
    assert.equal((await events("policy.reloaded"))[1]?.changed, false);
  });

  it("runs reloads one after another: the last one started wins", async () => {
    await writeFile(join(dir, "p.yaml"), policy("a"));
    const one = reloader.reload("call");
    await writeFile(join(dir, "p.yaml"), policy("b"));
    const two = reloader.reload("call");
    const [r1, r2] = await Promise.all([one, two]);
    assert.equal(r2.previousVersion, r1.version);
    assert.deepEqual(
      engine.bundle.rules.map((r) => r.id),
      ["b"],
    );
  });
});
