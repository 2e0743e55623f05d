import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BUILT_IN_DETECTORS } from "./registry.ts";
import { found } from "./test-support.ts";

/** Everyday values that no built-in detector may touch. */
const ORDINARY = [
  // Order ids and references.
  "ORD-2024-000123",
  "INV-000456789",
  "order #100234567",
  "PO-555-123-4567-A",
  // Timestamps and dates.
  "2024-01-15",
  "15/01/2024",
  "2024-01-15T10:30:00Z",
  "2024-01-15T10:30:00.123+01:00",
  "2024-01-15 10:30:00.123456+00",
  "1705312800",
  "1705312800000",
  "20240115103000",
  "10:30:45",
  // Versions.
  "1.2.3",
  "v1.2.3",
  "1.2.3-rc.1+build.5",
  "v1.2.3.4",
  "10.0.19045.2965",
  "node 20.19.0",
  // Identifiers and hashes.
  "550e8400-e29b-41d4-a716-446655440000",
  "da39a3ee5e6b4b0d3255bfef95601890afd80709",
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "#ff8800",
  // ISBNs.
  "ISBN 978-3-16-148410-0",
  "ISBN 0-306-40615-2",
  "9783161484100",
  // Numbers.
  "4111111111111112",
  "1234567812345678",
  "9999999999999999",
  "0.4532015112830366",
  "1,234,567.89",
  "$12,345.67",
  "3.14159265358979",
  // Paths, URLs, code.
  "/var/lib/postgresql/16/main",
  "https://example.com/a/b?c=d",
  "std::vector<int>",
  "SELECT * FROM customers WHERE id = 42",
];

describe("false positives", () => {
  for (const text of ORDINARY) {
    it(`nothing is found in ${JSON.stringify(text)}`, () => {
      const hits = BUILT_IN_DETECTORS.flatMap((d) => found(d, text).map((f) => `${d.name}: ${f}`));
      assert.deepEqual(hits, []);
    });
  }

  it("documented look-alikes are masked: four-part versions, Luhn-valid issuer-prefixed numbers", () => {
    const names = (text: string): string[] =>
      BUILT_IN_DETECTORS.filter((d) => found(d, text).length > 0).map((d) => d.name);
    assert.deepEqual(names("release 1.2.3.4"), ["ipv4"]);
    assert.deepEqual(names("ref 4000000000000002"), ["credit_card"]);
  });
});
