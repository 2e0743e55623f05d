import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { claimValue, groupsClaim, mapGroups } from "./group-mapping.ts";
import { isAllowedIdpUrl, isLoopbackHost } from "./loopback.ts";

describe("mapGroups", () => {
  it("uses the IdP's groups as they are without rules, sorted and unique", () => {
    assert.deepEqual(mapGroups(["b", "a", "b"], undefined), ["a", "b"]);
  });

  it("keeps only what the rules produce, with globs", () => {
    const rules = [
      { from: "eng-oncall", to: "oncall" },
      { from: "data-*", to: "analysts" },
      { from: "eng-?", to: "single" },
    ];
    assert.deepEqual(mapGroups(["eng-oncall", "data-science", "data-eng", "eng-x", "admins"], rules), [
      "analysts",
      "oncall",
      "single",
    ]);
    assert.deepEqual(mapGroups(["admins"], rules), []);
    assert.deepEqual(mapGroups([], []), []);
  });
});

describe("groupsClaim", () => {
  it("reads lists, single strings, nested names, and refuses other shapes", () => {
    assert.deepEqual(groupsClaim({ groups: ["a", ""] }, "groups"), ["a"]);
    assert.deepEqual(groupsClaim({ groups: "a" }, "groups"), ["a"]);
    assert.deepEqual(groupsClaim({}, "groups"), []);
    assert.deepEqual(groupsClaim({ realm_access: { roles: ["r"] } }, "realm_access.roles"), ["r"]);
    assert.deepEqual(groupsClaim({ "a.b": ["flat"], a: { b: ["nested"] } }, "a.b"), ["flat"]);
    assert.equal(groupsClaim({ groups: [1] }, "groups"), undefined);
    assert.equal(groupsClaim({ groups: { admin: true } }, "groups"), undefined);
    assert.equal(claimValue({ a: "x" }, "a.length"), undefined);
    assert.equal(claimValue({}, "__proto__.polluted"), undefined);
  });
});

describe("loopback checks", () => {
  it("accepts only loopback hosts for plain http", () => {
    for (const host of ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"])
      assert.ok(isLoopbackHost(host), host);
    for (const host of ["10.0.0.1", "localhost.evil.example", "0.0.0.0", "::", "example.com"]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
    assert.ok(isAllowedIdpUrl(new URL("https://idp.example.com")));
    assert.ok(isAllowedIdpUrl(new URL("http://127.0.0.1:9000")));
    assert.equal(isAllowedIdpUrl(new URL("http://idp.example.com")), false);
    assert.equal(isAllowedIdpUrl(new URL("ftp://127.0.0.1")), false);
  });
});
