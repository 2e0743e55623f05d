import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bundleHash } from "./compile.ts";
import { PolicyError } from "./errors.ts";
import { loadPolicyBundle, readGitCommit, readPolicyFiles } from "./load.ts";
import { FIXED_CLOCK, sqlAction } from "./test-support.ts";

const rule = (id: string, effect = "allow") =>
  `apiVersion: sluice/v1\nrules:\n  - id: ${id}\n    effect: ${effect}\n`;

describe("loadPolicyBundle", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-policy-"));
    await mkdir(join(dir, "teams", "data"), { recursive: true });
    await mkdir(join(dir, ".hidden"));
    await writeFile(join(dir, "base.yaml"), rule("base-deny", "deny"));
    await writeFile(join(dir, "teams", "data", "read.yml"), rule("data-read"));
    await writeFile(join(dir, "teams", "alpha.yaml"), rule("alpha"));
    await writeFile(join(dir, "teams", "alpha.test.yaml"), "not: [a policy");
    await writeFile(join(dir, "teams", "beta.test.yml"), "not: [a policy");
    await writeFile(join(dir, ".hidden", "x.yaml"), "not: [a policy");
    await writeFile(join(dir, "README.md"), "# policies\n");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads *.yaml and *.yml recursively, skipping tests and dot entries, sorted by path", async () => {
    const files = await readPolicyFiles(dir);
    assert.deepEqual(
      files.map((f) => f.path),
      ["base.yaml", "teams/alpha.yaml", "teams/data/read.yml"],
    );
    const bundle = await loadPolicyBundle(dir, { clock: FIXED_CLOCK });
    assert.deepEqual(
      bundle.rules.map((r) => r.id),
      ["base-deny", "alpha", "data-read"],
    );
    assert.equal(bundle.rules[1]?.file, `${dir}/teams/alpha.yaml`);
    assert.equal(bundle.version, bundleHash(files));
    assert.equal(bundle.gitCommit, undefined);
    assert.equal(bundle.decide(sqlAction()).effect, "deny");
  });

  it("hash is stable across loads and changes with content", async () => {
    const first = (await loadPolicyBundle(dir)).version;
    assert.equal((await loadPolicyBundle(dir)).version, first);
    await writeFile(join(dir, "extra.yaml"), rule("extra"));
    const second = (await loadPolicyBundle(dir)).version;
    assert.notEqual(second, first);
    await rm(join(dir, "extra.yaml"));
    assert.equal((await loadPolicyBundle(dir)).version, first);
  });

  it("reports diagnostics with the directory in the file name", async () => {
    const broken = await mkdtemp(join(tmpdir(), "sluice-policy-broken-"));
    try {
      await writeFile(join(broken, "prod.yaml"), rule("x", "sometimes"));
      await assert.rejects(loadPolicyBundle(broken), (error: unknown) => {
        assert.ok(error instanceof PolicyError);
        assert.equal(error.diagnostics[0]?.file, `${broken}/prod.yaml`);
        assert.match(error.message, /prod\.yaml:4:13: rule x: effect: must be one of/);
        return true;
      });
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it("fails with a PolicyError for a missing directory", async () => {
    await assert.rejects(loadPolicyBundle(join(dir, "missing")), (error: unknown) => {
      assert.ok(error instanceof PolicyError);
      assert.match(error.message, /cannot read policy directory: no such directory/);
      return true;
    });
  });

  it("git commit lookup fails silently outside a checkout", async () => {
    assert.equal(await readGitCommit(dir), undefined);
    assert.equal(await readGitCommit(join(dir, "missing")), undefined);
  });
});
