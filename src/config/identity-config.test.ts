import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { ErrorCodes } from "../core/index.ts";
import { ConfigError } from "./config-error.ts";
import { parseConfig } from "./load-config.ts";

const SECRET = "oidc-client-secret-value";

async function parse(text: string, env: NodeJS.ProcessEnv = {}) {
  return parseConfig(text, "sluice.yaml", "/etc/sluice", { env });
}

async function messageOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    await parse(text, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail("expected the configuration to be rejected");
}

describe("identity configuration", () => {
  it("defaults to no providers, no trusted issuers, 12h sessions and a 30s revocation check", async () => {
    const config = await parse("");
    assert.deepEqual(config.identity, {
      providers: [],
      trustedIssuers: [],
      sessionTtlSeconds: 43_200,
      revocationCheckIntervalSeconds: 30,
      publicUrl: undefined,
    });
  });

  it("reads the issue's example shape with defaults filled in", async () => {
    const config = await parse(
      `identity:
  public_url: https://sluice.example.com/
  session_ttl: 8h
  revocation_check_interval: 10s
  providers:
    - { name: corp, type: oidc, issuer: https://idp.example.com, client_id: sluice, client_secret: env:OIDC_SECRET, groups_claim: groups }
    - name: dev
      type: oidc
      issuer: http://127.0.0.1:9000/
      client_id: gw
      scopes: [openid, email]
      user_claim: preferred_username
      group_mapping:
        - { from: eng-oncall, to: oncall }
        - { from: "data-*", to: analysts }
  trusted_issuers:
    - { issuer: https://ci.example.com, audience: sluice, groups_claim: groups, kind: service }
`,
      { OIDC_SECRET: SECRET },
    );
    const { identity } = config;
    assert.equal(identity.publicUrl, "https://sluice.example.com");
    assert.equal(identity.sessionTtlSeconds, 8 * 3600);
    assert.equal(identity.revocationCheckIntervalSeconds, 10);
    const [corp, dev] = identity.providers;
    assert.ok(corp?.type === "oidc" && dev?.type === "oidc");
    assert.deepEqual(
      { ...corp },
      {
        name: "corp",
        type: "oidc",
        issuer: "https://idp.example.com",
        clientId: "sluice",
        scopes: ["openid", "profile", "email", "offline_access"],
        userClaim: "email",
        groupsClaim: "groups",
        groupMapping: undefined,
      },
    );
    assert.equal(corp.clientSecret, SECRET);
    assert.equal(JSON.stringify(config).includes(SECRET), false);
    assert.equal(inspect(config, { depth: 10 }).includes(SECRET), false);
    assert.equal(dev.issuer, "http://127.0.0.1:9000");
    assert.equal(dev.clientSecret, undefined);
    assert.deepEqual(dev.groupMapping, [
      { from: "eng-oncall", to: "oncall" },
      { from: "data-*", to: "analysts" },
    ]);
    assert.deepEqual(identity.trustedIssuers, [
      {
        issuer: "https://ci.example.com",
        audience: "sluice",
        kind: "service",
        userClaim: "sub",
        groupsClaim: "groups",
        groupMapping: undefined,
        algorithms: ["RS256", "PS256", "ES256", "ES384", "EdDSA"],
        actClaim: "act",
        onBehalfOfGroups: "token",
      },
    ]);
    assert.ok(Object.isFrozen(identity.providers[0]));
  });

  it("reads a SAML provider, its metadata file relative to the configuration", async () => {
    const config = await parse(`identity:
  providers:
    - name: corp-saml
      type: saml
      metadata: file:./idp-metadata.xml
      group_mapping: [{ from: "eng-*", to: engineers }]
    - { name: other, type: saml, metadata: "file:/etc/sluice/other-idp.xml", entity_id: "urn:sluice", user_attribute: email, groups_attribute: memberOf }
`);
    assert.deepEqual(
      config.identity.providers.map((p) => ({ ...p })),
      [
        {
          name: "corp-saml",
          type: "saml",
          metadataPath: "/etc/sluice/idp-metadata.xml",
          entityId: undefined,
          userAttribute: undefined,
          groupsAttribute: "groups",
          groupMapping: [{ from: "eng-*", to: "engineers" }],
        },
        {
          name: "other",
          type: "saml",
          metadataPath: "/etc/sluice/other-idp.xml",
          entityId: "urn:sluice",
          userAttribute: "email",
          groupsAttribute: "memberOf",
          groupMapping: undefined,
        },
      ],
    );
  });

  it("names file:line:col and key for each mistake", async () => {
    const message = await messageOf(`identity:
  providers:
    - { name: corp, type: oidc, issuer: http://idp.example.com, client_id: sluice }
    - { name: corp, type: oidc, issuer: https://idp.example.com?x=1, client_id: "", bogus: 1 }
    - { name: sso, type: saml, metadata: ./idp-metadata.xml }
    - { name: x, type: ldap }
  trusted_issuers:
    - { issuer: https://ci.example.com, audience: sluice, algorithms: [HS256] }
    - { issuer: https://ci.example.com, audience: sluice, kind: robot, algorithms: [none] }
    - { issuer: http://10.0.0.1, audience: sluice, on_behalf_of_groups: both }
  session_ttl: 10s
  revocation_check_interval: 0s
  group_mapping: []
`);
    const lines = message.split("\n");
    const url = "expected an https:// URL (http:// only on a loopback host), without query or fragment";
    for (const expected of [
      `sluice.yaml:3:33: identity.providers[0].issuer: ${url}`,
      "sluice.yaml:4:9: identity.providers[1].name: duplicate provider name (first used by [0])",
      `sluice.yaml:4:33: identity.providers[1].issuer: ${url}`,
      "sluice.yaml:4:70: identity.providers[1].client_id: expected a non-empty string",
      "sluice.yaml:4:85: identity.providers[1].bogus: unknown key",
      "sluice.yaml:5:32: identity.providers[2].metadata: expected file:<path> of the identity provider's SAML metadata",
      "sluice.yaml:6:18: identity.providers[3].type: expected one of oidc, saml",
      "sluice.yaml:9:9: identity.trusted_issuers[1].issuer: duplicate issuer (first used by [0])",
      "sluice.yaml:9:59: identity.trusted_issuers[1].kind: expected human, service or agent",
      `sluice.yaml:10:9: identity.trusted_issuers[2].issuer: ${url}`,
      "sluice.yaml:11:3: identity.session_ttl: expected a duration between 1m and 30d, e.g. 30s, 15m, 12h or 7d",
      "sluice.yaml:13:3: identity.group_mapping: unknown key",
    ]) {
      assert.ok(lines.includes(expected), `missing line:\n${expected}\nin:\n${message}`);
    }
    assert.ok(
      lines.some((line) =>
        /^sluice\.yaml:8:\d+: identity\.trusted_issuers\[0\]\.algorithms\[0\]: expected asymmetric JWS algorithms .*none and HMAC are never accepted$/.test(
          line,
        ),
      ),
      message,
    );
    assert.ok(
      lines.some((line) => line.includes("identity.trusted_issuers[1].algorithms[0]")),
      message,
    );
    assert.ok(
      lines.some((line) => line.includes("identity.revocation_check_interval")),
      message,
    );
    assert.ok(
      lines.includes(
        "sluice.yaml:10:52: identity.trusted_issuers[2].on_behalf_of_groups: expected token or login_session",
      ),
      message,
    );
  });

  it("reports an unresolved client secret at its reference, without a value", async () => {
    const error = await parse(
      `identity:
  providers:
    - { name: corp, type: oidc, issuer: https://idp.example.com, client_id: sluice, client_secret: env:NOPE }
`,
    ).catch((e: unknown) => e);
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, ErrorCodes.secretUnresolved);
    assert.equal(
      error.message,
      "sluice.yaml:3:85: identity.providers[0].client_secret: environment variable NOPE is not set",
    );
  });

  it("refuses an inline client secret and requires openid in scopes", async () => {
    const message = await messageOf(`identity:
  providers:
    - { name: corp, type: oidc, issuer: https://idp.example.com, client_id: sluice, client_secret: hunter2, scopes: [email] }
`);
    assert.ok(
      message.includes("identity.providers[0].client_secret: secrets must be given as env:VAR or file:path"),
      message,
    );
    assert.ok(message.includes("identity.providers[0].scopes: must include openid"), message);
    assert.equal(message.includes("hunter2"), false);
  });
});
