import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { browse, CookieJar } from "../harness/dev-idp.ts";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";
import {
  type AuthnRequest,
  signingMaterial,
  startTestSamlIdp,
  type TestSamlIdp,
} from "../harness/saml-idp.ts";

describe("browser login through a SAML 2.0 identity provider", () => {
  let idp: TestSamlIdp;
  let f: GatewayFixture;
  let gw = "";
  let metadataDir = "";
  const logs: string[] = [];

  before(async () => {
    idp = await startTestSamlIdp();
    metadataDir = mkdtempSync(join(tmpdir(), "sluice-saml-"));
    const metadataPath = join(metadataDir, "idp-metadata.xml");
    writeFileSync(metadataPath, idp.metadataXml);
    f = await startGatewayFixture({
      log: (message) => logs.push(message),
      extraConfig: `identity:
  providers:
    - name: corp-saml
      type: saml
      metadata: file:${metadataPath}
      group_mapping:
        - { from: "eng-*", to: engineers }
        - { from: "data-*", to: analysts }
`,
    });
    gw = f.gateway.publicUrl;
  });
  after(async () => {
    await f?.stop();
    await idp?.close();
    rmSync(metadataDir, { recursive: true, force: true });
    if (process.env.SAML_DEBUG) console.log(logs.join("\n"));
  });

  /** Starts a login as a browser would, up to the redirect to the IdP. */
  async function begin(redirect = "/whoami"): Promise<{ request: AuthnRequest; cookie: string }> {
    const response = await fetch(`${gw}/login/corp-saml?redirect=${encodeURIComponent(redirect)}`, {
      redirect: "manual",
    });
    assert.equal(response.status, 302);
    const location = response.headers.get("location") ?? "";
    assert.ok(location.startsWith(idp.ssoUrl), location);
    const cookie = /sluice_saml=([^;]+)/.exec(response.headers.getSetCookie().join("\n"))?.[1];
    assert.ok(cookie);
    return { request: idp.parseRequest(location), cookie };
  }

  /** The IdP's POST of `samlResponse` to the gateway's ACS. */
  async function acs(samlResponse: string, relayState: string) {
    const response = await fetch(`${gw}/saml/acs`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: relayState }).toString(),
      redirect: "manual",
    });
    return {
      status: response.status,
      location: response.headers.get("location"),
      text: await response.text(),
    };
  }

  async function complete(location: string, cookie: string) {
    const response = await fetch(new URL(location, gw), {
      headers: { cookie: `sluice_saml=${cookie}` },
      redirect: "manual",
    });
    const session = /sluice_session=([^;]+)/.exec(response.headers.getSetCookie().join("\n"))?.[1];
    return { status: response.status, location: response.headers.get("location"), session };
  }

  test("a signed assertion logs the browser in; the session's token works with psql", async () => {
    idp.respondAs({ nameId: "alice@corp.example", attributes: { groups: ["eng-platform", "sales"] } });
    const jar = new CookieJar();
    const result = await browse(`${gw}/login/corp-saml?redirect=/whoami`, { jar, stopAt: `${gw}/whoami` });
    assert.equal(result.response.status, 303, result.body);
    assert.ok(result.visited.some((url) => url.startsWith(idp.ssoUrl)));
    assert.ok(result.visited.includes(`${gw}/saml/acs`));
    const session = jar.get(gw, "sluice_session");
    assert.ok(session);

    const whoami = await fetch(`${gw}/whoami`, { headers: { cookie: `sluice_session=${session}` } });
    const me = (await whoami.json()) as { user: string; groups: string[]; session: { provider: string } };
    assert.equal(me.user, "alice@corp.example");
    assert.deepEqual(me.groups, ["engineers"]);
    assert.equal(me.session.provider, "corp-saml");

    const refreshed = await fetch(`${gw}/token/refresh`, {
      method: "POST",
      headers: { cookie: `sluice_session=${session}` },
    });
    const tokens = (await refreshed.json()) as { access_token: string };
    const r = await psql(f.conninfo("pg-dev"), tokens.access_token, ["-c", "CREATE TABLE saml_ok (id int)"]);
    assert.equal(r.code, 0, r.stderr);

    await f.gateway.drainAuditSinks();
    const [login] = await f.gateway.store.searchAudit({ type: "identity.login", user: "alice@corp.example" });
    assert.equal(login?.data.provider, "corp-saml");
  });

  test("unsigned, response-only signed, wrongly signed and tampered assertions are refused", async () => {
    const stranger = await signingMaterial("impostor");
    const cases: [string, RegExp, (request: AuthnRequest) => string][] = [
      [
        "unsigned",
        /Invalid signature/,
        (request) => idp.response({ request, nameId: "alice@corp.example", sign: "none" }),
      ],
      // The Response is signed, the Assertion in it is not: assertions must carry their own signature.
      [
        "response-only",
        /Invalid signature/,
        (request) => idp.response({ request, nameId: "alice@corp.example", sign: "response" }),
      ],
      [
        "foreign key",
        /Invalid signature/,
        (request) => idp.response({ request, nameId: "alice@corp.example", signer: stranger }),
      ],
      [
        "tampered",
        /Invalid signature/,
        (request) =>
          idp.response({
            request,
            nameId: "alice@corp.example",
            tamper: (xml) => xml.replace("alice@corp.example", "admin@corp.example"),
          }),
      ],
      [
        "another audience",
        /audience mismatch/,
        (request) => idp.response({ request, nameId: "alice@corp.example", audience: "urn:someone-else" }),
      ],
      [
        "expired",
        /No valid subject confirmation/,
        (request) => idp.response({ request, nameId: "alice@corp.example", validForSeconds: -120 }),
      ],
      [
        "another issuer",
        /issued by another entity/,
        (request) =>
          idp.response({ request, nameId: "alice@corp.example", issuer: "https://impostor.example" }),
      ],
    ];
    for (const [name, reason, build] of cases) {
      const { request } = await begin();
      const answer = await acs(build(request), request.relayState);
      assert.equal(answer.status, 401, `${name}: ${answer.text}`);
      assert.equal(answer.location, null, name);
      const logged = logs.at(-1) ?? "";
      assert.match(logged, /SAML login at corp-saml failed: SamlLoginError: response refused/, name);
      assert.match(logged, reason, name);
    }
  });

  test("a response is used once: replays and reused assertion ids are refused", async () => {
    const first = await begin();
    const assertionId = "_replayed-assertion-0001";
    const response = idp.response({ request: first.request, nameId: "alice@corp.example", assertionId });
    const ok = await acs(response, first.request.relayState);
    assert.equal(ok.status, 303, ok.text);
    const done = await complete(ok.location!, first.cookie);
    assert.equal(done.status, 303);
    assert.equal(done.location, "/whoami");
    assert.ok(done.session);

    // The same POST again: its login is used up.
    assert.equal((await acs(response, first.request.relayState)).status, 400);
    // The same response for another login: it does not answer that login's AuthnRequest.
    const second = await begin();
    assert.equal((await acs(response, second.request.relayState)).status, 401);
    // A fresh, correctly addressed response reusing the assertion id: refused as a replay.
    const third = await begin();
    const reused = idp.response({ request: third.request, nameId: "alice@corp.example", assertionId });
    assert.equal((await acs(reused, third.request.relayState)).status, 401);
    assert.ok(
      logs.some((line) => /assertion replayed/.test(line)),
      logs.join("\n"),
    );
    // The hand-over code is one-time too.
    assert.equal((await complete(ok.location!, first.cookie)).status, 400);
  });

  test("the completion needs the browser that started the login; no open redirect", async () => {
    const started = await begin("/dashboard?tab=1");
    const answer = await acs(
      idp.response({ request: started.request, nameId: "alice@corp.example" }),
      started.request.relayState,
    );
    assert.equal(answer.status, 303);
    assert.match(answer.location ?? "", /^\/saml\/complete\?code=/);
    const elsewhere = await complete(answer.location!, "someone-elses-cookie");
    assert.equal(elsewhere.status, 400);
    assert.equal(elsewhere.session, undefined);

    for (const target of [
      "https://evil.example/",
      "//evil.example/x",
      "/\\evil.example",
      "javascript:alert(1)",
    ]) {
      const response = await fetch(`${gw}/login/corp-saml?redirect=${encodeURIComponent(target)}`, {
        redirect: "manual",
      });
      assert.equal(response.status, 400, target);
      assert.equal(response.headers.get("location"), null);
    }
    const relative = await begin("/dashboard?tab=1");
    const ok = await acs(
      idp.response({ request: relative.request, nameId: "bob@corp.example" }),
      relative.request.relayState,
    );
    const done = await complete(ok.location!, relative.cookie);
    assert.equal(done.location, "/dashboard?tab=1");
    assert.equal((await acs("PHg+", "forged-relay-state")).status, 400);
  });

  test("the gateway publishes its SP metadata for the IdP", async () => {
    const response = await fetch(`${gw}/saml/corp-saml/metadata`);
    assert.equal(response.status, 200);
    const xml = await response.text();
    assert.match(xml, new RegExp(`entityID="${gw}/saml/corp-saml"`));
    assert.match(xml, new RegExp(`Location="${gw}/saml/acs"`));
    assert.equal((await fetch(`${gw}/saml/nope/metadata`)).status, 404);
    const list = (await (await fetch(`${gw}/login`)).json()) as { providers: string[] };
    assert.deepEqual(list.providers, ["corp-saml"]);
  });
});
