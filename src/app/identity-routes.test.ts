import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { safeRedirect } from "./identity-routes.ts";

const ORIGIN = "https://sluice.example.com";

describe("safeRedirect", () => {
  it("keeps same-origin paths", () => {
    assert.equal(safeRedirect(null, ORIGIN), "/");
    assert.equal(safeRedirect("", ORIGIN), "/");
    assert.equal(safeRedirect("/console/sessions?x=1#top", ORIGIN), "/console/sessions?x=1#top");
    assert.equal(safeRedirect("/a/../b", ORIGIN), "/b");
  });

  it("refuses anything that could leave the gateway", () => {
    for (const target of [
      "https://evil.example",
      "http://sluice.example.com/",
      "//evil.example",
      "///evil.example",
      "/\\evil.example",
      "\\\\evil.example",
      "javascript:alert(1)",
      "evil.example",
      "/\tevil",
      "/\nLocation: https://evil.example",
      "/a\\b",
    ]) {
      assert.equal(safeRedirect(target, ORIGIN), undefined, JSON.stringify(target));
    }
  });
});
