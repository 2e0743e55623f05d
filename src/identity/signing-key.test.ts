import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { calculateJwkThumbprint, exportJWK } from "jose";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import { loadOrCreateSigningKey } from "./signing-key.ts";

describe("loadOrCreateSigningKey", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-key-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates a PKCS#8 key with mode 0600 in a new 0700 directory", async () => {
    const path = join(dir, "fresh", "nested", "signing-key.pem");
    const key = await loadOrCreateSigningKey(path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "fresh", "nested"))).mode & 0o777, 0o700);
    assert.match(await readFile(path, "utf8"), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(key.publicJwk.kty, "EC");
    assert.equal(key.publicJwk.crv, "P-256");
    assert.equal(key.publicJwk.alg, "ES256");
    assert.equal(key.publicJwk.use, "sig");
    assert.equal("d" in key.publicJwk, false);
    assert.equal(key.privateKey.extractable, false);
    assert.equal(key.privateKey.type, "private");
  });

  it("reuses the file, with a kid stable across loads", async () => {
    const path = join(dir, "reuse", "signing-key.pem");
    const first = await loadOrCreateSigningKey(path);
    const pem = await readFile(path, "utf8");
    const second = await loadOrCreateSigningKey(path);
    assert.equal(await readFile(path, "utf8"), pem);
    assert.equal(second.kid, first.kid);
    assert.deepEqual(second.publicJwk, first.publicJwk);
  });

  it("uses the RFC 7638 thumbprint as kid", async () => {
    const key = await loadOrCreateSigningKey(join(dir, "thumb.pem"));
    const { kty, crv, x, y } = key.publicJwk;
    assert.equal(key.kid, await calculateJwkThumbprint({ kty, crv, x, y }, "sha256"));
    assert.equal(key.publicJwk.kid, key.kid);
    assert.match(key.kid, /^[A-Za-z0-9_-]{43}$/);
  });

  it("reads a P-256 key written by other tools", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const path = join(dir, "external.pem");
    await writeFile(path, privateKey.export({ type: "pkcs8", format: "pem" }));
    const key = await loadOrCreateSigningKey(path);
    const expected = await exportJWK(publicKey);
    assert.equal(key.publicJwk.x, expected.x);
    assert.equal(key.publicJwk.y, expected.y);
  });

  it("gives concurrent first loads the same key", async () => {
    const path = join(dir, "race", "signing-key.pem");
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateSigningKey(path)));
    assert.equal(new Set(keys.map((key) => key.kid)).size, 1);
    assert.equal((await loadOrCreateSigningKey(path)).kid, keys[0]?.kid);
    assert.deepEqual(await readdir(join(dir, "race")), ["signing-key.pem"]);
  });

  it("refuses keys of another curve and files that are not keys", async () => {
    const p384 = join(dir, "p384.pem");
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
    await writeFile(p384, privateKey.export({ type: "pkcs8", format: "pem" }));
    const garbage = join(dir, "garbage.pem");
    await writeFile(garbage, "not a key\n");
    for (const path of [p384, garbage]) {
      await assert.rejects(loadOrCreateSigningKey(path), (error: unknown) => {
        assert.ok(error instanceof SluiceError);
        assert.equal(error.code, ErrorCodes.configInvalid);
        assert.equal(error.message, `${path}: expected a PKCS#8 PEM private key for ES256 (P-256)`);
        return true;
      });
    }
  });
});
