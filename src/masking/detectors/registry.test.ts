import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BUILT_IN_DETECTORS, DetectorRegistry } from "./registry.ts";
import { type Detector, NO_SPANS } from "./types.ts";

const ORDER_ID: Detector = {
  name: "order_id",
  find(text) {
    const i = text.indexOf("ORD-");
    return i === -1 ? NO_SPANS : [{ start: i, end: Math.min(text.length, i + 10) }];
  },
};

describe("detector registry", () => {
  it("holds the built-ins by the names policies use", () => {
    assert.deepEqual(new DetectorRegistry().names(), [
      "email",
      "credit_card",
      "us_ssn",
      "phone",
      "iban",
      "ipv4",
      "ipv6",
      "jwt",
      "api_key",
    ]);
    assert.equal(BUILT_IN_DETECTORS.length, 9);
  });

  it("takes custom detectors, refusing taken or malformed names and non-detectors", () => {
    const registry = new DetectorRegistry();
    registry.register(ORDER_ID);
    assert.equal(registry.get("order_id"), ORDER_ID);
    assert.throws(() => registry.register(ORDER_ID), /already registered/);
    assert.throws(() => registry.register({ ...ORDER_ID, name: "email" }), /already registered/);
    assert.throws(() => registry.register({ ...ORDER_ID, name: "Order ID" }), /must match/);
    assert.throws(() => registry.register({ name: "x" } as unknown as Detector), /find/);
  });

  it("can start empty", () => {
    assert.deepEqual(new DetectorRegistry([]).names(), []);
  });

  it("returns the shared empty list when nothing is found", () => {
    for (const detector of BUILT_IN_DETECTORS) assert.equal(detector.find("nothing to see"), NO_SPANS);
  });
});
