import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { BUILT_IN_DETECTORS } from "./detectors/index.ts";
import { createMasker } from "./masker.ts";
import { rule } from "./test-support.ts";

const ALL = BUILT_IN_DETECTORS.map((d) => d.name);

describe("text masking", () => {
  const masker = createMasker([rule("all", { detectors: ALL })]);

  it("masks every detector's finds in messages and notices", () => {
    const message =
      'ERROR: duplicate key value violates unique constraint "customers_email_key"\n' +
      "DETAIL: Key (email)=(bob@example.com) already exists; card 4111-1111-1111-1111, " +
      "ssn 123-45-6789, tel +1 (555) 123-4567, iban DE89370400440532013000, from 10.0.0.1 and 2001:db8::1, " +
      "token sk_live_4eC39HqLyjWDarjtT1zdp7dc.";
    const { text, counts } = masker.maskText(message);
    assert.equal(
      text,
      'ERROR: duplicate key value violates unique constraint "customers_email_key"\n' +
        "DETAIL: Key (email)=([MASKED]) already exists; card [MASKED], ssn [MASKED], tel [MASKED], " +
        "iban [MASKED], from [MASKED] and [MASKED], token [MASKED].",
    );
    assert.deepEqual(counts, { values: 1, byRule: { all: 1 } });
  });

  it("leaves text without finds as it is", () => {
    const text =
      "order ORD-2024-000123 shipped 2024-01-15 10:30:00 by v1.2.3, uuid 550e8400-e29b-41d4-a716-446655440000";
    assert.deepEqual(masker.maskText(text), { text, counts: { values: 0, byRule: { all: 0 } } });
  });

  it("a masker without rules changes nothing", () => {
    const none = createMasker([]);
    assert.equal(none.maskText("a@b.com").text, "a@b.com");
    assert.deepEqual(none.forTable([{ name: "x" }]).maskRow(["a@b.com"]).cells, ["a@b.com"]);
    assert.deepEqual(none.maskJson({ email: "a@b.com" }).value, { email: "a@b.com" });
  });

  it("never lets a detected value through, wherever it sits in the text", () => {
    const secrets = fc.constantFrom(
      "alice@example.com",
      "4111 1111 1111 1111",
      "123-45-6789",
      "+44 20 7946 0958",
      "GB82WEST12345698765432",
      "192.168.10.20",
      "fe80::1ff:fe23:4567:890a",
      "AKIAIOSFODNN7EXAMPLE",
    );
    const filler = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\w@.:+-]/g, " "));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(filler, secrets), { minLength: 1, maxLength: 5 }),
        filler,
        (parts, tail) => {
          const text = parts.map(([f, s]) => `${f} ${s} `).join("") + tail;
          const masked = masker.maskText(text).text;
          for (const [, secret] of parts) assert.ok(!masked.includes(secret), `${secret} in ${masked}`);
        },
      ),
    );
  });

  it("detectors never throw and return valid spans on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        for (const detector of BUILT_IN_DETECTORS) {
          for (const { start, end } of detector.find(text)) {
            assert.ok(
              Number.isInteger(start) &&
                Number.isInteger(end) &&
                0 <= start &&
                start < end &&
                end <= text.length,
            );
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("text line streams", () => {
  const masker = createMasker([rule("m", { detectors: ["email"] })], { maxLineLength: 64 });

  it("masks whole lines as they complete, whatever the chunking", () => {
    const lines = masker.textLines();
    assert.equal(lines.push("hello bob@ex"), "");
    assert.equal(lines.push("ample.com\nnext line\npart"), "hello [MASKED]\nnext line\n");
    assert.equal(lines.push("ial c@d.io"), "");
    assert.equal(lines.end(), "partial [MASKED]");
    assert.deepEqual(lines.counts(), { values: 2, byRule: { m: 2 } });
  });

  it("holds back at most maxLineLength characters, then fails the stream", () => {
    const lines = masker.textLines();
    assert.throws(() => lines.push("x".repeat(65)), /longer than 64/);
    assert.throws(() => lines.push("\n"), /already failed/);
  });
});
