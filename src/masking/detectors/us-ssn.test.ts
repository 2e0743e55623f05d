import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { found } from "./test-support.ts";
import { usSsnDetector } from "./us-ssn.ts";

describe("us_ssn detector", () => {
  it("finds AAA-GG-SSSS and AAA GG SSSS", () => {
    assert.deepEqual(found(usSsnDetector, "ssn 123-45-6789, (078-05-1120) and 234 56 7890."), [
      "123-45-6789",
      "078-05-1120",
      "234 56 7890",
    ]);
    assert.deepEqual(found(usSsnDetector, "665-01-0001 667-99-9999 899-12-3456"), [
      "665-01-0001",
      "667-99-9999",
      "899-12-3456",
    ]);
  });

  it("excludes never-issued areas, groups and serials", () => {
    for (const text of [
      "000-12-3456",
      "666-12-3456",
      "900-12-3456",
      "999-12-3456",
      "123-00-6789",
      "123-45-0000",
    ]) {
      assert.deepEqual(found(usSsnDetector, text), [], text);
    }
  });

  it("does not match dates, plain nine digits, mixed separators or longer tokens", () => {
    for (const text of [
      "2024-01-15",
      "123456789",
      "123-45 6789",
      "123 45-6789",
      "1123-45-6789",
      "123-45-67890",
      "ORD-123-45-6789",
      "123-45-6789-01",
      "v1.123-45-6789",
      "x123-45-6789",
      "555-123-4567",
      "2024-01-15T10:30:00Z",
      "550e8400-e29b-41d4-a716-446655440000",
    ]) {
      assert.deepEqual(found(usSsnDetector, text), [], text);
    }
  });
});
