import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BUILT_IN_DETECTORS } from "./registry.ts";
import { flat } from "./test-support.ts";

const MB = 1 << 20;
const BUDGET_MS = 1000;

/** Units that, repeated to 1 MB, stress each scanner's candidate handling. */
const ADVERSARIAL_UNITS = [
  "a", // one long word
  " ", // nothing but separators
  "1", // one long number
  "1 ", // endless digit groups (cards, phones)
  "1-",
  "12 ",
  "4111 ",
  "a@", // e-mail: every character a candidate
  "a.a@",
  "@a.",
  "a@a.",
  "123-45-", // SSN prefixes
  "123-45-6789-",
  "+1 ", // phone prefixes
  "(555) ",
  "555-123-",
  "DE89", // IBAN prefixes
  "DE89 ",
  "1.", // IPv4
  "1.1.1.1.",
  "255.",
  ":", // IPv6
  "1:",
  "a::",
  "12:30:",
  "eyJ", // JWT
  "eyJ.",
  "eyJhbGciOiJub25lIn0.",
  "sk_live_", // API keys
  "AKIA",
  "-----BEGIN ",
  "-----BEGIN PRIVATE KEY-----",
  "Bearer ",
  "Bearer a",
];

describe("detectors run in linear time", () => {
  for (const detector of BUILT_IN_DETECTORS) {
    it(`${detector.name}: every 1 MB adversarial string in well under a second`, () => {
      const slow: string[] = [];
      for (const unit of ADVERSARIAL_UNITS) {
        const text = flat(unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB));
        const start = performance.now();
        detector.find(text);
        const ms = performance.now() - start;
        if (ms > BUDGET_MS) slow.push(`${JSON.stringify(unit)}: ${ms.toFixed(0)} ms`);
      }
      assert.deepEqual(slow, []);
    });
  }
});
