import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jwtDetector } from "./jwt.ts";
import { found } from "./test-support.ts";

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
const JWT = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "1234567890" })}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;

describe("jwt detector", () => {
  it("finds signed, unsigned and encrypted tokens", () => {
    assert.deepEqual(found(jwtDetector, `Authorization: Bearer ${JWT}`), [JWT]);
    const unsigned = `${b64({ alg: "none" })}.${b64({ sub: "x" })}.`;
    assert.deepEqual(found(jwtDetector, `token=${unsigned} next`), [unsigned]);
    const jwe = `${b64({ alg: "RSA-OAEP", enc: "A256GCM" })}.a2V5.aXY.Y2lwaGVy.dGFn`;
    assert.deepEqual(found(jwtDetector, jwe), [jwe]);
  });

  it("does not match headers without alg, non-JSON, two segments, glued tokens or dotted words", () => {
    for (const text of [
      `${b64({ typ: "JWT" })}.${b64({ sub: "x" })}.c2ln`,
      `${b64({ alg: 1 })}.${b64({ sub: "x" })}.c2ln`,
      "eyJub3QganNvbg.eyJzdWIiOiJ4In0.c2ln",
      `${b64({ alg: "HS256" })}.${b64({ sub: "x" })}`,
      `x${JWT}`,
      `a.${JWT}`,
      "www.example.com",
      "eyJ",
      "1.2.3",
    ]) {
      assert.deepEqual(found(jwtDetector, text), [], text);
    }
  });
});
