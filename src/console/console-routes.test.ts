import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Principal } from "../core/index.ts";
import type { PolicyBundle } from "../policy/index.ts";
import type { Store } from "../store/index.ts";
import { createConsole, type WebConsole } from "./console-routes.ts";
import { CONTENT_SECURITY_POLICY } from "./security.ts";

const PEOPLE: Record<string, Principal> = {
  "token-erin": { user: "erin@corp.example", groups: ["engineers"], kind: "human" },
  "token-ada": { user: "ada@corp.example", groups: ["auditors"], kind: "human" },
};

describe("web console routes", () => {
  let server: Server;
  let web: WebConsole;
  let base = "";

  before(async () => {
    const store = {
      subscribe: async () => ({ unsubscribe: async () => {} }),
      searchAudit: async () => [],
    } as unknown as Store;
    web = createConsole({
      publicUrl: () => base,
      listenerPorts: () => ({ postgres: 15432 }),
      providers: () => ["corp"],
      authenticateToken: async (token) => {
        const principal = PEOPLE[token];
        if (principal === undefined) throw new Error("bad token");
        return principal;
      },
      authenticateSession: async (cookie) => {
        if (cookie !== "good-session") throw new Error("no session");
        return PEOPLE["token-erin"]!;
      },
      privilegedGroups: ["sluice-admins", "auditors"],
      connections: [],
      policy: { bundle: { version: "v1", rules: [], timeZone: "UTC" } as unknown as PolicyBundle },
      analysers: [],
      store,
      getApproval: async () => undefined,
      log: () => {},
    });
    await web.start();
    server = createServer((req, res) => {
      if (!web.handle(req, res, new URL(req.url ?? "/", "http://x"))) {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await web.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test("every page is the shell under a strict CSP, with only external scripts and styles", async () => {
    const response = await fetch(`${base}/console/sessions/abc`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /'unsafe-inline'|'unsafe-eval'|\*|https?:/);
    assert.equal(response.headers.get("x-frame-options"), "DENY");
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.match(
      response.headers.get("set-cookie") ?? "",
      /^sluice_csrf=[\w-]{20,}; Path=\/; SameSite=Strict$/,
    );
    const html = await response.text();
    assert.match(html, /<script type="module" src="\/console\/static\/app\.js"><\/script>/);
    assert.doesNotMatch(html, /<script>|<style|\sstyle="|\son\w+="/);
  });

  test("files are served from a fixed list; anything else under static is not found", async () => {
    const js = await fetch(`${base}/console/static/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /text\/javascript/);
    const player = await fetch(`${base}/console/vendor/asciinema-player.min.js`);
    assert.equal(player.status, 200);
    assert.equal((await fetch(`${base}/console/static/secret.txt`)).status, 404);
  });

  test("the APIs need a token or a session; the review link leads to the console", async () => {
    const anonymous = await fetch(`${base}/console/api/me`);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(((await anonymous.json()) as { providers: string[] }).providers, ["corp"]);
    const me = await fetch(`${base}/console/api/me`, { headers: { authorization: "Bearer token-erin" } });
    assert.equal(((await me.json()) as { user: string }).user, "erin@corp.example");
    const viaCookie = await fetch(`${base}/console/api/me`, {
      headers: { cookie: "sluice_session=good-session" },
    });
    assert.equal(viaCookie.status, 200);
    const review = await fetch(`${base}/approvals/0f8e0c4e-8b1c-4a57-9d55-0a7c3f7f1a01`, {
      redirect: "manual",
    });
    assert.equal(review.status, 302);
    assert.equal(review.headers.get("location"), "/console/approvals/0f8e0c4e-8b1c-4a57-9d55-0a7c3f7f1a01");
  });

  test("the audit trail and the policy are for admins and auditors", async () => {
    const erin = await fetch(`${base}/console/api/audit`, {
      headers: { authorization: "Bearer token-erin" },
    });
    assert.equal(erin.status, 403);
    const ada = await fetch(`${base}/console/api/audit`, { headers: { authorization: "Bearer token-ada" } });
    assert.equal(ada.status, 200);
  });

  test("a state change with the cookie needs this origin and the double-submitted token", async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/console/api/policy/explain`, { method: "POST", headers, body: "{}" });
    const cookie = "sluice_session=good-session; sluice_csrf=abcdefghijklmnopqrstuvwx";
    assert.equal((await post({ cookie })).status, 403, "no origin, no token");
    assert.equal((await post({ cookie, origin: base })).status, 403, "no token");
    assert.equal(
      (await post({ cookie, origin: "https://evil.example", "x-sluice-csrf": "abcdefghijklmnopqrstuvwx" }))
        .status,
      403,
      "another origin",
    );
    // Through the CSRF check to authorization (erin is no auditor).
    assert.equal(
      (await post({ cookie, origin: base, "x-sluice-csrf": "abcdefghijklmnopqrstuvwx" })).status,
      403,
    );
    const refused = await web.authenticateRequest({
      method: "POST",
      headers: { cookie, origin: base },
    } as never);
    assert.deepEqual(refused, {
      status: 403,
      error: "cross-site request refused (CSRF token missing or wrong)",
    });
    const allowed = await web.authenticateRequest({
      method: "POST",
      headers: { cookie, origin: base, "x-sluice-csrf": "abcdefghijklmnopqrstuvwx" },
    } as never);
    assert.equal((allowed as Principal).user, "erin@corp.example");
  });
});
