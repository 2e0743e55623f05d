import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDuration, parseDuration } from "./duration.ts";

describe("parseDuration", () => {
  it("reads single units into seconds", () => {
    assert.equal(parseDuration("30s"), 30);
    assert.equal(parseDuration("15m"), 900);
    assert.equal(parseDuration("12h"), 43_200);
    assert.equal(parseDuration("7d"), 604_800);
    assert.equal(parseDuration("0s"), 0);
  });

  it("reads compound durations and bare seconds", () => {
    assert.equal(parseDuration("1h30m"), 5400);
    assert.equal(parseDuration("1d2h3m4s"), 93_784);
    assert.equal(parseDuration(45), 45);
    assert.equal(parseDuration("45"), 45);
    assert.equal(parseDuration(" 5m "), 300);
  });

  it("rejects anything else", () => {
    for (const bad of ["", "m", "1.5h", "-5m", "15 m", "15min", "1w", "h1", "15M"]) {
      assert.equal(parseDuration(bad), undefined, bad);
    }
    assert.equal(parseDuration(-1), undefined);
    assert.equal(parseDuration(1.5), undefined);
    assert.equal(parseDuration(Number.NaN), undefined);
    assert.equal(parseDuration(`${"9".repeat(20)}d`), undefined);
  });

  it("formats what it parses", () => {
    for (const seconds of [0, 1, 59, 60, 90, 3600, 5400, 86_400, 93_784]) {
      assert.equal(parseDuration(formatDuration(seconds)), seconds);
    }
    assert.equal(formatDuration(900), "15m");
    assert.equal(formatDuration(5400), "1h30m");
  });
});
