import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { phoneDetector } from "./phone.ts";
import { found } from "./test-support.ts";

describe("phone detector", () => {
  it("finds international numbers with a leading +", () => {
    for (const number of [
      "+1 (555) 123-4567",
      "+1 555 123 4567",
      "+1-555-123-4567",
      "+44 20 7946 0958",
      "+44 (0)20 7946 0958",
      "+4915112345678",
      "+33 1 23 45 67 89",
      "+81 3-1234-5678",
      "+861012345678",
    ]) {
      assert.deepEqual(found(phoneDetector, `call ${number}, thanks`), [number], number);
    }
  });

  it("finds common national formats", () => {
    for (const number of [
      "(555) 123-4567",
      "(555)123-4567",
      "555-123-4567",
      "555.123.4567",
      "555 123 4567",
      "1-800-555-0199",
      "1 (800) 555-0199",
      "020 7946 0958",
      "07700 900123",
      "0161 496 0000",
      "01 23 45 67 89",
      "06.12.34.56.78",
    ]) {
      assert.deepEqual(found(phoneDetector, `tel: ${number}.`), [number], number);
    }
  });

  it("does not match bare digit runs, timestamps, dates, versions, addresses or IDs", () => {
    for (const text of [
      "5551234567",
      "1705312800",
      "+123456789", // nine digits
      "+1234567890123456", // sixteen digits
      "2024-01-15",
      "2024-01-15 10:30:00",
      "2024-01-15T10:30:00+01:00",
      "192.168.100.200",
      "10.0.0.1",
      "1.2.3",
      "v10.123.4567",
      "ORD-555-123-4567",
      "555-123-45678",
      "155-123-4567", // area code starts with 1
      "055-123-4567",
      "555-123-4567-89",
      "978-3-16-148410-0",
      "550e8400-e29b-41d4-a716-446655440000",
      "4111 1111 1111 1111",
      "123-45-6789",
      "+1abc5551234567",
    ]) {
      assert.deepEqual(found(phoneDetector, text), [], text);
    }
  });
});
