import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import { parseSecretRef, resolveSecret } from "./secret-ref.ts";

describe("parseSecretRef", () => {
  it("reads env and file references", () => {
    assert.deepEqual(parseSecretRef("env:PG_PASSWORD"), { kind: "env", name: "PG_PASSWORD" });
    assert.deepEqual(parseSecretRef("file:./secrets/pg"), { kind: "file", path: "./secrets/pg" });
  });

  it("rejects inline values and malformed references", () => {
    for (const text of [
      "hunter2",
      "",
      "env:",
      "env:1BAD",
      "env:A-B",
      "file:",
      "file:  ",
      "ENV:X",
      "vault:x",
    ]) {
      assert.equal(parseSecretRef(text), undefined, text);
    }
  });
});

describe("resolveSecret", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-secret-"));
    await writeFile(join(dir, "pw"), "s3cret\n");
    await writeFile(join(dir, "pw-crlf"), "s3cret\r\n");
    await writeFile(join(dir, "pw-two-newlines"), "s3cret\n\n");
    await writeFile(join(dir, "empty"), "\n");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads environment variables from the given environment", async () => {
    assert.equal(await resolveSecret("env:PW", dir, { env: { PW: "from-env" } }), "from-env");
    assert.equal(await resolveSecret({ kind: "env", name: "PW" }, dir, { env: { PW: "x" } }), "x");
  });

  it("reads files relative to the base directory, dropping only the final newline", async () => {
    assert.equal(await resolveSecret("file:pw", dir), "s3cret");
    assert.equal(await resolveSecret("file:./pw-crlf", dir), "s3cret");
    assert.equal(await resolveSecret("file:pw-two-newlines", dir), "s3cret\n");
    assert.equal(await resolveSecret(`file:${join(dir, "pw")}`, "/nonexistent"), "s3cret");
  });

  it("fails with SLUICE_CONFIG_SECRET_UNRESOLVED naming the reference", async () => {
    await assert.rejects(resolveSecret("env:MISSING", dir, { env: {} }), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, ErrorCodes.secretUnresolved);
      assert.equal(error.message, "environment variable MISSING is not set");
      return true;
    });
    await assert.rejects(resolveSecret("file:absent", dir), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, ErrorCodes.secretUnresolved);
      assert.match(error.message, /^cannot read secret file .*absent \(ENOENT\)$/);
      return true;
    });
    await assert.rejects(resolveSecret("file:empty", dir), /file:empty is empty/);
    await assert.rejects(resolveSecret("env:E", dir, { env: { E: "" } }), /env:E is empty/);
    await assert.rejects(resolveSecret("hunter2", dir), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.message, "secrets must be given as env:VAR or file:path");
      return true;
    });
  });
});
