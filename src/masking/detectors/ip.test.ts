import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ipv4Detector } from "./ipv4.ts";
import { ipv6Detector } from "./ipv6.ts";
import { found } from "./test-support.ts";

describe("ipv4 detector", () => {
  it("finds dotted quads, also with ports and prefixes", () => {
    assert.deepEqual(found(ipv4Detector, "from 10.0.0.1:5432 in 192.168.1.0/24 via 255.255.255.255."), [
      "10.0.0.1",
      "192.168.1.0",
      "255.255.255.255",
    ]);
    assert.deepEqual(found(ipv4Detector, "host=0.0.0.0,peer=(172.16.5.4)"), ["0.0.0.0", "172.16.5.4"]);
  });

  it("does not match versions of three or five parts, OIDs, big octets, leading zeros or glued quads", () => {
    for (const text of [
      "1.2.3",
      "version 10.2.3",
      "1.3.6.1.4.1",
      "1.2.3.4.5",
      "256.1.1.1",
      "1.2.3.999",
      "010.1.1.1",
      "v1.2.3.4",
      "1.2.3.4a",
      "10.0.19045.2965",
      "2024-01-15",
      "3.14159",
    ]) {
      assert.deepEqual(found(ipv4Detector, text), [], text);
    }
  });

  it("matches a four-part version number, which looks exactly like an address", () => {
    assert.deepEqual(found(ipv4Detector, "release 1.2.3.4"), ["1.2.3.4"]);
  });
});

describe("ipv6 detector", () => {
  it("finds full, compressed, loopback, link-local and IPv4-mapped addresses", () => {
    assert.deepEqual(
      found(
        ipv6Detector,
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334 and 2001:db8::1, [::1]:5432, fe80::1%eth0",
      ),
      ["2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8::1", "::1", "fe80::1"],
    );
    assert.deepEqual(found(ipv6Detector, "mapped ::ffff:192.0.2.1, end 2001:db8::."), [
      "::ffff:192.0.2.1",
      "2001:db8::",
    ]);
  });

  it("does not match times, MAC addresses, a bare ::, C++ scopes or hex words", () => {
    for (const text of [
      "12:30:45",
      "10:30:00.123",
      "00:1a:2b:3c:4d:5e",
      "::",
      "std::vector",
      "Foo::Bar::baz",
      "deadbeef",
      "1:2:3",
      "2001:db8:::1",
      "urn:isbn:0451450523",
    ]) {
      assert.deepEqual(found(ipv6Detector, text), [], text);
    }
  });
});
