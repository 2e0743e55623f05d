import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { apiKeyDetector } from "./api-key.ts";
import { found } from "./test-support.ts";

describe("api_key detector", () => {
  it("finds vendor tokens by prefix", () => {
    for (const key of [
      "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
      "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
      "rk_live_51H8xYzAbCdEfGhIjKl",
      "AKIAIOSFODNN7EXAMPLE",
      "ASIAY34FZKBOKMUTVV7A",
      "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
      "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
      "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
      "xoxp-1234567890-abcdef",
      "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",
      "glpat-xxxxXXXXxxxxXXXXxxxx",
      "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    ]) {
      assert.deepEqual(found(apiKeyDetector, `key="${key}"`), [key], key);
    }
  });

  it("finds PEM private keys, to the END line or to the end of the text", () => {
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
    assert.deepEqual(found(apiKeyDetector, `key:\n${pem}\nrest`), [pem]);
    const openssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE";
    assert.deepEqual(found(apiKeyDetector, `x ${openssh}`), [openssh]);
    assert.deepEqual(found(apiKeyDetector, "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"), []);
    assert.deepEqual(
      found(apiKeyDetector, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
      [],
    );
  });

  it("finds the token after Bearer, not the word", () => {
    assert.deepEqual(found(apiKeyDetector, "Authorization: Bearer abc123def456ghi789jkl"), [
      "abc123def456ghi789jkl",
    ]);
    assert.deepEqual(found(apiKeyDetector, "authorization: bearer mF_9.B5f-4.1JqM"), ["mF_9.B5f-4.1JqM"]);
    assert.deepEqual(found(apiKeyDetector, "BEARER  AbCdEfGhIjKlMnOpQr"), ["AbCdEfGhIjKlMnOpQr"]);
  });

  it("does not match prose, short or glued tokens, or look-alike identifiers", () => {
    for (const text of [
      "bearer bonds",
      "bearer instruments and Bearer Responsibilities",
      "Bearer short1",
      "sk_live_short",
      "mysk_live_4eC39HqLyjWDarjtT1zdp7dc",
      "AKIAIOSFODNN7EXAMPLEX",
      "AKIAiosfodnn7example",
      "ghp_tooShort123",
      "task-manager-service-deployment-config-v2", // not an sk- key
      "AIzaTooShort",
      "550e8400-e29b-41d4-a716-446655440000",
      "ORD-2024-000123",
    ]) {
      assert.deepEqual(found(apiKeyDetector, text), [], text);
    }
  });
});
