import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileNameList, globMatches, globProblem } from "./glob.ts";

describe("globs", () => {
  it("match * and ? and nothing else", () => {
    assert.ok(globMatches("pg-*", "pg-prod"));
    assert.ok(globMatches("pg-*", "pg-"));
    assert.ok(!globMatches("pg-*", "mysql-prod"));
    assert.ok(globMatches("*@corp.example", "alice@corp.example"));
    assert.ok(!globMatches("*@corp.example", "alice@corp.example.evil"));
    assert.ok(globMatches("pg-?", "pg-1"));
    assert.ok(!globMatches("pg-?", "pg-12"));
    assert.ok(globMatches("*a*b*c*", "xxaxxbxxcxx"));
    assert.ok(!globMatches("*a*b*c*", "xxcxxbxxaxx"));
    assert.ok(globMatches("a.b", "a.b"));
    assert.ok(!globMatches("a.b", "axb"));
    assert.ok(!globMatches("PG-*", "pg-prod"));
  });

  it("are fast on adversarial input", () => {
    const start = performance.now();
    assert.ok(!globMatches(`${"*a".repeat(20)}b`, "a".repeat(10_000)));
    assert.ok(performance.now() - start < 500);
  });

  it("reject empty, **, brackets, braces, backslashes and whitespace", () => {
    for (const bad of ["", "a**", "[ab]", "{a,b}", "a\\b", "a b"])
      assert.ok(globProblem(bad) !== undefined, bad);
    for (const good of ["pg-prod", "pg-*", "*@corp.example", "team-?", "system:serviceaccount:ns:*"]) {
      assert.equal(globProblem(good), undefined, good);
    }
  });

  it("name lists OR exact names and globs", () => {
    const match = compileNameList(["pg-prod", "mysql-*"]);
    assert.ok(match("pg-prod"));
    assert.ok(match("mysql-eu"));
    assert.ok(!match("pg-dev"));
  });
});
