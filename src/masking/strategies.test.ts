import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createHasher,
  DEFAULT_REDACT_TOKEN,
  nullify,
  partial,
  redact,
  redactOrNull,
  strongest,
} from "./strategies.ts";

const KEY = "0123456789abcdef-gateway-key";

describe("strategies", () => {
  it("redact gives the fixed token, or null where the type cannot hold text", () => {
    assert.equal(redact(), "[MASKED]");
    assert.equal(DEFAULT_REDACT_TOKEN, "[MASKED]");
    assert.equal(redact("***"), "***");
    assert.equal(redactOrNull(true), "[MASKED]");
    assert.equal(redactOrNull(false), null);
  });

  it("partial keeps the last four characters, never more than half", () => {
    assert.equal(partial("4111111111111111"), "************1111");
    assert.equal(partial("secret"), "***ret");
    assert.equal(partial("abc"), "**c");
    assert.equal(partial("x"), "*");
    assert.equal(partial(""), "");
    assert.equal(partial("4111-1111-1111-1111", { keepSeparators: true }), "****-****-****-1111");
    assert.equal(partial("alice@example.com", { keep: 3, keepSeparators: true }), "*****@*******.com");
    assert.equal(partial("123456789", { keep: 2, fill: "#" }), "#######89");
  });

  it("partial counts code points, so it never splits a surrogate pair", () => {
    assert.equal(partial("😀😀😀😀😀😀😀😀"), "****😀😀😀😀");
  });

  it("hash is keyed HMAC-SHA256: stable, short, different per key", () => {
    const hash = createHasher(KEY);
    const token = hash("alice@example.com");
    assert.match(token, /^h:[0-9a-f]{12}$/);
    assert.equal(hash("alice@example.com"), token);
    assert.notEqual(hash("bob@example.com"), token);
    assert.notEqual(createHasher(`${KEY}2`)("alice@example.com"), token);
    assert.match(createHasher(Buffer.from(KEY), { hexLength: 16, prefix: "#" })("x"), /^#[0-9a-f]{16}$/);
  });

  it("hash matches node:crypto's HMAC (no home-made crypto)", async () => {
    const { createHmac } = await import("node:crypto");
    const expected = createHmac("sha256", KEY).update("ü", "utf8").digest("hex").slice(0, 12);
    assert.equal(createHasher(KEY)("ü"), `h:${expected}`);
  });

  it("hash refuses short keys and odd lengths", () => {
    assert.throws(() => createHasher("short"), /at least 16 bytes/);
    assert.throws(() => createHasher(KEY, { hexLength: 7 }), /even/);
    assert.throws(() => createHasher(KEY, { hexLength: 66 }), /even/);
  });

  it("null is null, and the strongest strategy wins", () => {
    assert.equal(nullify(), null);
    assert.equal(strongest("partial", "hash"), "hash");
    assert.equal(strongest("redact", "hash"), "redact");
    assert.equal(strongest("redact", "null"), "null");
    assert.equal(strongest("null", "partial"), "null");
  });
});
