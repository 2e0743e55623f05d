import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePolicyBundle, type PolicyTestReport } from "../policy/index.ts";
import { compactJson, formatTestReport, plural } from "./policy-output.ts";

describe("policy output", () => {
  it("compactJson keeps short containers on one line and escapes every control character", () => {
    assert.equal(compactJson({ a: [1, 2], b: "x" }), '{"a":[1,2],"b":"x"}');
    assert.equal(
      compactJson({ kinds: ["select"], text: "y".repeat(120) }, "", 40),
      `{\n  "kinds": ["select"],\n  "text": "${"y".repeat(120)}"\n}`,
    );
    assert.equal(compactJson("\u001b[2J\u009b"), '"\\u001b[2J\\u009b"');
    assert.equal(compactJson({ empty: [] }, "", 5), '{\n  "empty": []\n}');
  });

  it("ends the test report with the counts alone on the last line", () => {
    const bundle = compilePolicyBundle([{ path: "p.yaml", text: "apiVersion: sluice/v1\n" }]);
    const report: PolicyTestReport = {
      bundle,
      files: [],
      results: [],
      passed: 0,
      failed: 0,
      exercised: new Set(),
      unexercised: [],
    };
    const text = formatTestReport("policies", report, true);
    assert.equal(text.trimEnd().split("\n").at(-1), "0 passed, 0 failed");
    assert.match(text, /no \*\.test\.yaml files under policies/);
    assert.equal(plural(1, "rule"), "1 rule");
    assert.equal(plural(2, "rule"), "2 rules");
  });
});
