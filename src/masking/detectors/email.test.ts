import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emailDetector } from "./email.ts";
import { found } from "./test-support.ts";

describe("email detector", () => {
  it("finds addresses in prose, lists, JSON and SQL errors", () => {
    assert.deepEqual(found(emailDetector, "mail alice.smith+tag@example.co.uk, or bob@sub.example.com."), [
      "alice.smith+tag@example.co.uk",
      "bob@sub.example.com",
    ]);
    assert.deepEqual(found(emailDetector, '{"to":"x_y-z@corp.example"}'), ["x_y-z@corp.example"]);
    assert.deepEqual(found(emailDetector, "Key (email)=(Bob@Example.COM) already exists."), [
      "Bob@Example.COM",
    ]);
    assert.deepEqual(found(emailDetector, "<a@b.io>;c@d.io"), ["a@b.io", "c@d.io"]);
    assert.deepEqual(found(emailDetector, "user@xn--bcher-kva.example and u@mail.xn--p1ai"), [
      "user@xn--bcher-kva.example",
      "u@mail.xn--p1ai",
    ]);
    assert.deepEqual(found(emailDetector, "git@github.com:org/repo.git"), ["git@github.com"]);
  });

  it("does not match handles, versions, hosts without a dot, numeric TLDs or broken domains", () => {
    for (const text of [
      "@decorator",
      "pkg@1.2.3",
      "npm install left-pad@1.3.0",
      "root@localhost",
      "a@b",
      "foo@bar.c",
      "x@-bad.com",
      "x@bad-.com",
      "x@a..com",
      "x.@y.com",
      "user@[10.0.0.1]",
      "2024-01-15T10:30:00Z",
      "550e8400-e29b-41d4-a716-446655440000",
      "@@@",
    ]) {
      assert.deepEqual(found(emailDetector, text), [], text);
    }
  });

  it("trims leading dots of the local part and trailing dots or dashes of the domain", () => {
    assert.deepEqual(found(emailDetector, "..x@y.com.-"), ["x@y.com"]);
  });
});
