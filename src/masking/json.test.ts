import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MaskingError } from "./errors.ts";
import { createMasker } from "./masker.ts";
import { createHasher } from "./strategies.ts";
import { HASH_KEY, rule } from "./test-support.ts";

describe("JSON masking", () => {
  const masker = createMasker([
    rule("pii", { columns: ["customers.email", "customers.*"], detectors: ["email", "credit_card"] }),
    rule("ssn", { columns: ["*.SSN"], strategy: "null" }),
  ]);

  it("masks everything under keys that name a rule's column, in any table", () => {
    const input = {
      customer: { Email: "a@b.com", name: "Ann", ssn: "123-45-6789" },
      contacts: [{ email: ["x@y.org", 5, true, null, { deep: "text" }] }],
    };
    const { value, counts } = masker.maskJson(input);
    assert.deepEqual(value, {
      customer: { Email: "[MASKED]", name: "Ann", ssn: null },
      contacts: [{ email: ["[MASKED]", "[MASKED]", "[MASKED]", null, { deep: "[MASKED]" }] }],
    });
    assert.deepEqual(counts, { values: 6, byRule: { pii: 5, ssn: 1 } });
    // The input is not modified.
    assert.equal(input.customer.Email, "a@b.com");
  });

  it("scans other strings, numbers and keys with the detectors", () => {
    // As JSON.parse reads a 19-digit card number: rounded, so its digits can no longer be checked.
    const big = JSON.parse("4111111111111111111") as number;
    const { value } = masker.maskJson({
      note: "mail bob@example.com",
      card: 4111111111111111,
      big,
      huge: 1e25,
      count: 42,
      "carol@example.com": { ok: true },
    });
    assert.deepEqual(value, {
      note: "mail [MASKED]",
      card: "[MASKED]",
      big: "[MASKED]",
      huge: 1e25,
      count: 42,
      "[MASKED]": { ok: true },
    });
  });

  it("keeps keys distinct when masking makes them equal", () => {
    const { value } = masker.maskJson({ "a@x.com": 1, "b@x.com": 2, "[MASKED]": 3 });
    assert.deepEqual(value, { "[MASKED]": 1, "[MASKED]#2": 2, "[MASKED]#3": 3 });
  });

  it("hash keeps JSON and table tokens equal for equal values", () => {
    const hashing = createMasker([rule("h", { columns: ["users.email"], strategy: "hash" })], {
      hashKey: HASH_KEY,
    });
    const { value } = hashing.maskJson([{ email: "a@b.com" }]);
    assert.deepEqual(value, [{ email: createHasher(HASH_KEY)("a@b.com") }]);
  });

  it("treats __proto__ as an ordinary key", () => {
    const input = JSON.parse('{"__proto__": {"email": "a@b.com"}, "x": 1}');
    const { value } = masker.maskJson(input);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.equal(JSON.stringify(value), '{"__proto__":{"email":"[MASKED]"},"x":1}');
  });

  it("masks JSON text and fails on invalid JSON without quoting it", () => {
    assert.deepEqual(masker.maskJsonText('{"email": "a@b.com", "n": [1, "c@d.io"]}'), {
      text: '{"email":"[MASKED]","n":[1,"[MASKED]"]}',
      counts: { values: 2, byRule: { pii: 2, ssn: 0 } },
    });
    assert.throws(
      () => masker.maskJsonText('{"email": secret@corp.example'),
      (e) => e instanceof MaskingError && !e.message.includes("secret") && /not valid JSON/.test(e.message),
    );
  });

  it("bounds nesting depth and refuses values JSON cannot hold", () => {
    let deep: unknown = "x";
    for (let i = 0; i < 70; i++) deep = [deep];
    assert.throws(() => masker.maskJson(deep), /deeper than 64/);
    const shallow = createMasker([rule("m", { detectors: ["email"] })], { maxJsonDepth: 3 });
    assert.deepEqual(shallow.maskJson([[["a@b.io"]]]).value, [[["[MASKED]"]]]);
    assert.throws(() => shallow.maskJson([[[["a@b.io"]]]]), /deeper than 3/);
    for (const bad of [undefined, () => 1, 10n, new Date(0), Number.NaN, [Symbol("s")]]) {
      assert.throws(() => masker.maskJson(bad), MaskingError);
    }
  });
});
