import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ibanDetector } from "./iban.ts";
import { found } from "./test-support.ts";

describe("iban detector", () => {
  it("finds valid IBANs, compact or in groups of four, in either case", () => {
    for (const iban of [
      "DE89370400440532013000",
      "DE89 3704 0044 0532 0130 00",
      "GB82WEST12345698765432",
      "GB82 WEST 1234 5698 7654 32",
      "FR1420041010050500013M02606",
      "NL91ABNA0417164300",
      "BE68539007547034",
      "NO9386011117947",
      "CH9300762011623852957",
      "gb82west12345698765432",
    ]) {
      assert.deepEqual(found(ibanDetector, `IBAN: ${iban}.`), [iban], iban);
    }
  });

  it("rejects wrong check digits, lengths, unknown countries and glued tokens", () => {
    for (const text of [
      "DE89370400440532013001", // check fails
      "DE8937040044053201300", // too short for DE
      "DE893704004405320130000", // too long
      "XX89370400440532013000", // no such country
      "ID:DE89370400440532013000x",
      "xDE89370400440532013000",
      "DE89 37040044 0532 0130 00", // irregular groups
      "ABCD1234EFGH5678",
      "ISBN9783161484100",
      "550e8400-e29b-41d4-a716-446655440000",
    ]) {
      assert.deepEqual(found(ibanDetector, text), [], text);
    }
  });
});
