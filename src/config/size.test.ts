import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatSize, parseSize } from "./size.ts";

describe("parseSize", () => {
  it("reads binary units and plain byte counts", () => {
    assert.equal(parseSize("16MiB"), 16_777_216);
    assert.equal(parseSize("64KiB"), 65_536);
    assert.equal(parseSize("1GiB"), 1_073_741_824);
    assert.equal(parseSize("512B"), 512);
    assert.equal(parseSize("16 MiB"), 16_777_216);
    assert.equal(parseSize(4096), 4096);
    assert.equal(parseSize("4096"), 4096);
  });

  it("rejects decimal units, fractions and negatives", () => {
    for (const bad of ["16MB", "16mb", "1.5MiB", "-1", "MiB", "", "16 M", "16TiB"]) {
      assert.equal(parseSize(bad), undefined, bad);
    }
    assert.equal(parseSize(-1), undefined);
    assert.equal(parseSize(0.5), undefined);
    assert.equal(parseSize(`${"9".repeat(20)}GiB`), undefined);
  });

  it("formats with the largest exact unit", () => {
    assert.equal(formatSize(16_777_216), "16MiB");
    assert.equal(formatSize(1536), "1536B");
    assert.equal(formatSize(2048), "2KiB");
    assert.equal(parseSize(formatSize(67_108_864)), 67_108_864);
  });
});
