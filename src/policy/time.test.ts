import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TimeFactSource } from "./time.ts";

describe("time facts", () => {
  it("are computed in the configured zone", () => {
    const utc = new TimeFactSource("UTC", (f) => f);
    assert.deepEqual(utc.at(Date.parse("2024-05-05T23:30:00Z")), {
      hour: 23,
      minute: 30,
      weekday: 0,
      date: "2024-05-05",
    });
    const tokyo = new TimeFactSource("Asia/Tokyo", (f) => f);
    assert.deepEqual(tokyo.at(Date.parse("2024-05-05T23:30:00Z")), {
      hour: 8,
      minute: 30,
      weekday: 1,
      date: "2024-05-06",
    });
    const kolkata = new TimeFactSource("Asia/Kolkata", (f) => f);
    assert.deepEqual(kolkata.at(Date.parse("2024-01-01T00:00:00Z")), {
      hour: 5,
      minute: 30,
      weekday: 1,
      date: "2024-01-01",
    });
  });

  it("follow daylight saving time", () => {
    const berlin = new TimeFactSource("Europe/Berlin", (f) => f);
    assert.equal(berlin.at(Date.parse("2024-03-31T00:59:00Z")).hour, 1);
    assert.equal(berlin.at(Date.parse("2024-03-31T01:00:00Z")).hour, 3);
    assert.equal(berlin.at(Date.parse("2024-01-15T12:00:00Z")).hour, 13);
  });

  it("are cached per minute", () => {
    let calls = 0;
    const source = new TimeFactSource("UTC", (f) => {
      calls++;
      return f;
    });
    const t = Date.parse("2024-05-05T10:00:00Z");
    const first = source.at(t);
    assert.equal(source.at(t + 59_999), first);
    assert.equal(calls, 1);
    assert.equal(source.at(t + 60_000).minute, 1);
    assert.equal(calls, 2);
  });
});
