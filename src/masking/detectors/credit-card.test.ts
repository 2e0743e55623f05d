import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createCreditCardDetector, creditCardDetector, knownIssuer } from "./credit-card.ts";
import { found } from "./test-support.ts";

describe("credit_card detector", () => {
  it("finds Luhn-valid numbers of known issuers, plain, spaced or dashed", () => {
    assert.deepEqual(
      found(creditCardDetector, "visa 4111 1111 1111 1111, mc 5555-5555-5555-4444, amex 378282246310005"),
      ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"],
    );
    for (const number of [
      "4012888888881881", // Visa
      "4222222222222", // Visa, 13 digits
      "2223003122003222", // Mastercard 2-series
      "6011111111111117", // Discover
      "3056930009020004", // Diners
      "36227206271667", // Diners, 14 digits
      "3566002020360505", // JCB
      "6200000000000005", // UnionPay
      "6759649826438453", // Maestro
      "4111 1111 1111 1111 003", // Visa, 19 digits
    ]) {
      assert.deepEqual(found(creditCardDetector, `card: ${number}.`), [number], number);
    }
  });

  it("finds a card among other numbers of a grouped sequence", () => {
    assert.deepEqual(found(creditCardDetector, "qty 2 4111 1111 1111 1111"), ["4111 1111 1111 1111"]);
  });

  it("does not match non-Luhn numbers, timestamps, ISBNs, decimals, UUIDs or glued digits", () => {
    for (const text of [
      "4111111111111112", // Luhn fails
      "1234567812345678", // random 16 digits, Luhn fails
      "1705312800000", // epoch milliseconds
      "20240115103000123", // compact timestamp
      "978-3-16-148410-0", // ISBN-13
      "9783161484100",
      "0.4532015112830366", // a random float
      "4532015112830366.25",
      "550e8400-e29b-41d4-a716-446655440000",
      "id4111111111111111",
      "4111111111111111x",
      "41111111111111111111", // 20 digits
      "4111  1111  1111  1111", // double spaces
      "+4915112345678", // a phone number
      "ORD-2024-000123",
      "2024-01-15",
    ]) {
      assert.deepEqual(found(creditCardDetector, text), [], text);
    }
  });

  it("rejects Luhn-valid numbers without a known issuer prefix, unless told not to check", () => {
    const noIssuer = "1234567812345670"; // Luhn-valid, prefix 1 is no payment network
    assert.deepEqual(found(creditCardDetector, noIssuer), []);
    assert.deepEqual(found(createCreditCardDetector({ checkIssuer: false }), noIssuer), [noIssuer]);
    assert.ok(knownIssuer(411111, 16));
    assert.ok(!knownIssuer(411111, 15));
    assert.ok(knownIssuer(378282, 15));
    assert.ok(!knownIssuer(378282, 16));
    assert.ok(!knownIssuer(123456, 16));
    assert.ok(!knownIssuer(970000, 16));
  });
});
