import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineCounter, parseDocument } from "yaml";
import { formatPath, locatePath } from "./source-position.ts";

describe("formatPath", () => {
  it("joins keys with dots and indexes with brackets", () => {
    assert.equal(formatPath(["connections", 0, "target", "port"]), "connections[0].target.port");
    assert.equal(formatPath([]), "");
    assert.equal(formatPath([2]), "[2]");
  });

  it("quotes keys that are not identifiers", () => {
    assert.equal(formatPath(["labels", "app.kubernetes.io/name"]), 'labels["app.kubernetes.io/name"]');
  });
});

describe("locatePath", () => {
  const text = "a:\n  b: [x, { c: 1 }]\n  d:\nanchor: &ref { e: 2 }\nalias: *ref\n";
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const at = (...path: (string | number)[]) => locatePath(doc, lineCounter, path);

  it("finds keys, items and nested flow nodes", () => {
    assert.deepEqual(at("a"), { line: 1, col: 1 });
    assert.deepEqual(at("a", "b"), { line: 2, col: 3 });
    assert.deepEqual(at("a", "b", 0), { line: 2, col: 7 });
    assert.deepEqual(at("a", "b", 1, "c"), { line: 2, col: 12 });
  });

  it("falls back to the parent map or list when a step is missing", () => {
    assert.deepEqual(at("a", "missing"), { line: 2, col: 3 });
    assert.deepEqual(at("a", "b", 5), { line: 2, col: 6 });
    assert.deepEqual(at("a", "d", "e"), { line: 3, col: 3 });
    assert.deepEqual(at("a", "b", 0, "z"), { line: 2, col: 7 });
  });

  it("follows aliases to their anchor", () => {
    assert.deepEqual(at("alias", "e"), { line: 4, col: 16 });
  });

  it("points at the start of an empty document", () => {
    const empty = parseDocument("", { lineCounter: new LineCounter() });
    assert.deepEqual(locatePath(empty, new LineCounter(), ["x"]), { line: 1, col: 1 });
  });
});
