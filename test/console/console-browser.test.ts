import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { loadOrCreateSigningKey } from "../../src/identity/index.ts";
import { FileRecordingStore, SessionRecorder } from "../../src/recording/index.ts";
import { type DevIdp, GATEWAY_CLIENT, startTestIdp } from "../harness/dev-idp.ts";
import { freePort } from "../harness/free-port.ts";
import { type GatewayFixture, startGatewayFixture, TEST_POLICY } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";

const SECRET_ENV = "SLUICE_TEST_CONSOLE_IDP_SECRET";
const EMAIL = "original.secret@example.org";
const HELD_SQL = "UPDATE items SET note = 'approved in the console' WHERE id = 1";

const POLICY = `${TEST_POLICY}
  - id: prod-writes-need-a-dba
    description: Writes in production wait for a DBA
    match: { protocols: [postgres], groups: [engineers], connections: { labels: { env: prod } } }
    when: 'sql.kinds.exists(k, k in ["insert", "update", "delete"])'
    effect: approve
    approval: { reviewers: [dba], min_approvals: 1, ttl: 1h }
  - id: mask-email
    match: { protocols: [postgres] }
    effect: mask
    mask: { columns: [customers.email], strategy: redact }
`;

/** Debian's chromium on PATH (scripts/provision.sh installs it); the test never downloads a browser. */
function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of ["chromium", "chromium-browser"]) {
      if (dir !== "" && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? findChromium();
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

describe("the web console in a real browser", {
  skip: CHROMIUM === undefined && "chromium is not installed",
}, () => {
  let idp: DevIdp;
  let f: GatewayFixture;
  let gw = "";
  let context: BrowserContext;
  let page: Page;
  let profile = "";
  let shots = "";
  const problems: string[] = [];
  const failed: string[] = [];

  const shot = async (name: string) => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };
  const note = async (id: number): Promise<string | null> => {
    const app = await f.app();
    const { rows } = await app.query("SELECT note FROM items WHERE id = $1", [id]);
    await app.end();
    return (rows[0]?.note as string | undefined) ?? null;
  };

  before(async () => {
    const idpPort = await freePort();
    process.env[SECRET_ENV] = GATEWAY_CLIENT.clientSecret;
    f = await startGatewayFixture({
      policy: POLICY,
      extraConfig: `approvals:
  hold: 30s
identity:
  providers:
    - name: dev
      type: oidc
      issuer: http://127.0.0.1:${idpPort}
      client_id: ${GATEWAY_CLIENT.clientId}
      client_secret: env:${SECRET_ENV}
`,
    });
    gw = f.gateway.publicUrl;
    idp = await startTestIdp({
      port: idpPort,
      gatewayOrigin: gw,
      users: [
        {
          login: "dana",
          password: "demo",
          email: "dana@example.com",
          name: "Dana DBA",
          groups: ["dba", "auditors"],
        },
      ],
    });
    const app = await f.app();
    await app.query("CREATE TABLE items (id int PRIMARY KEY, note text)");
    await app.query("INSERT INTO items SELECT g, 'before' FROM generate_series(1, 3) g");
    await app.query("CREATE TABLE customers (id int, name text, email text)");
    await app.query("INSERT INTO customers VALUES (1, 'Alice', $1), (2, 'Bob', NULL)", [EMAIL]);
    await app.end();
    shots = process.env.SLUICE_CONSOLE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), "sluice-console-shots-"));
    mkdirSync(shots, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), "sluice-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM!,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 860 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on("console", (message) => {
      // Failed requests are checked by URL below.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
        problems.push(message.text());
      }
    });
    page.on("response", (response) => {
      if (response.status() >= 400 && response.url().startsWith(gw)) {
        failed.push(`${response.status()} ${new URL(response.url()).pathname}`);
      }
    });
    page.on("pageerror", (error) => problems.push(error.message));
  });

  after(async () => {
    await context?.close();
    await f?.stop();
    await idp?.close();
    rmSync(profile, { recursive: true, force: true });
    delete process.env[SECRET_ENV];
    if (process.env.SLUICE_CONSOLE_SCREENSHOTS === undefined)
      process.stdout.write(`# screenshots: ${shots}\n`);
  });

  test("log in through the dev IdP", async () => {
    await page.goto(`${gw}/console/approvals`);
    const signIn = page.getByRole("link", { name: "Sign in with dev" });
    await signIn.waitFor();
    await shot("signin");
    await signIn.click();
    await page.locator('input[name="login"]').fill("dana");
    await page.locator('input[name="password"]').fill("demo");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${gw}/console/approvals`);
    await page.getByRole("heading", { name: "Approvals", level: 1 }).waitFor();
    assert.equal(await page.locator(".who .user").textContent(), "dana@example.com");
    const cookies = await context.cookies(gw);
    const session = cookies.find((c) => c.name === "sluice_session");
    assert.ok(session?.httpOnly, "the session cookie is HttpOnly");
    assert.equal(session?.sameSite, "Lax");
  });

  test("a held psql statement appears live, is approved with a reason, and psql continues", async () => {
    await page.evaluate(() => {
      (window as unknown as { stillHere: boolean }).stillHere = true;
    });
    const erin = await f.token("erin@corp.example", ["engineers"]);
    const running = psql(f.conninfo(), erin, ["-c", HELD_SQL], { timeoutMs: 40_000 });
    const card = page.locator("article.request", { hasText: HELD_SQL });
    await card.waitFor();
    // Pushed over server-sent events: the page was never reloaded.
    assert.equal(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere), true);
    const text = await card.textContent();
    assert.match(text ?? "", /erin@corp\.example/);
    assert.match(text ?? "", /prod-writes-need-a-dba/);
    assert.match(text ?? "", /Expires/);
    await card.getByText("Facts the policy decided on").click();
    assert.match((await card.locator("pre.json").textContent()) ?? "", /"update"/);
    await shot("approvals");
    // Phone width.
    await page.setViewportSize({ width: 390, height: 844 });
    await shot("approvals-phone");
    await page.setViewportSize({ width: 1280, height: 860 });
    assert.equal(await note(1), "before", "nothing runs while held");
    await card.getByLabel("Reason (required to deny)").fill("checked the ticket");
    await card.getByRole("button", { name: "Approve" }).click();
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await note(1), "approved in the console");
    await card.waitFor({ state: "detached" });
  });

  test("a state change with the cookie needs the CSRF token and this origin", async () => {
    const status = await page.evaluate(async () => {
      const response = await fetch("/console/api/policy/explain", { method: "POST", body: "{}" });
      return response.status;
    });
    assert.equal(status, 403);
    const cookie = (await context.cookies(gw)).map((c) => `${c.name}=${c.value}`).join("; ");
    const csrf = (await context.cookies(gw)).find((c) => c.name === "sluice_csrf")?.value ?? "";
    const forged = await fetch(`${gw}/api/approvals/00000000-0000-0000-0000-000000000000/approve`, {
      method: "POST",
      headers: {
        cookie,
        origin: "https://evil.example",
        "x-sluice-csrf": csrf,
        "content-type": "application/json",
      },
      body: "{}",
    });
    assert.equal(forged.status, 403);
  });

  test("the session replay shows the statement timeline with the masked value, never the original", async () => {
    const erin = await f.token("erin@corp.example", ["engineers"]);
    const r = await psql(f.conninfo(), erin, ["-c", "SELECT id, name, email FROM customers ORDER BY id"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[MASKED\]/);
    await page.getByRole("link", { name: "Sessions" }).click();
    await page.getByLabel("User").fill("erin@corp.example");
    await page.getByRole("button", { name: "Search" }).click();
    await page.locator("#session-results tbody tr").first().waitFor();
    await shot("sessions");
    let found = false;
    for (let i = 0; i < 40 && !found; i++) {
      await page.getByRole("button", { name: "Search" }).click();
      await page.locator("#session-results tbody tr").first().waitFor();
      await page
        .locator("#session-results tbody tr")
        .first()
        .getByRole("link", { name: /Replay/ })
        .click();
      await page.locator(".timeline, .empty").first().waitFor();
      found = (await page.locator("td.masked").count()) > 0;
      if (!found) {
        await page.goBack();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    assert.ok(found, "the replay shows a masked cell");
    assert.match((await page.locator("td.masked").first().textContent()) ?? "", /\[MASKED\]/);
    assert.equal((await page.locator(".timeline .statement.effect-allow").count()) > 0, true);
    assert.doesNotMatch(await page.content(), new RegExp(EMAIL.replace(/\./g, "\\.")));
    await shot("session-replay");
  });

  test("a terminal session plays in the bundled asciinema player", async () => {
    const signingKey = await loadOrCreateSigningKey(join(f.dir, "data", "signing-key.pem"));
    const recorder = new SessionRecorder({
      store: new FileRecordingStore({ dir: join(f.dir, "data", "recordings"), fsync: false }),
      signingKey,
      maxBytesPerSession: 1024 * 1024,
      maxRowsPerStatement: 10,
    });
    const id = "term-demo-1";
    recorder.begin(
      {
        id,
        principal: { user: "erin@corp.example", groups: ["engineers"], kind: "human" },
        connection: {
          name: "pg-prod",
          protocol: "ssh",
          labels: { env: "prod" },
          target: { host: "h", port: 22 },
        },
        clientAddress: "127.0.0.1",
      } as never,
      { terminal: { width: 80, height: 12 } },
    );
    recorder.record(id, { type: "output", data: "erin@host:~$ " });
    recorder.record(id, { type: "input", data: "uptime\r" });
    recorder.record(id, { type: "output", data: "uptime\r\n 10:00:00 up 42 days\r\nerin@host:~$ " });
    await recorder.end(id, "client closed");
    await recorder.close();
    await page.goto(`${gw}/console/sessions/${id}`);
    await page.locator("#player .ap-wrapper, #player .ap-player").first().waitFor();
    await page.locator("#player").click();
    await page.locator("#player", { hasText: "42 days" }).waitFor();
    await shot("terminal-replay");
  });

  test("the audit trail is searchable, its chain verified, and it can be exported", async () => {
    await page.goto(`${gw}/console/audit`);
    await page.getByLabel("User").fill("erin@corp.example");
    await page.getByRole("button", { name: "Search" }).click();
    await page.locator("#audit-results tbody tr", { hasText: "UPDATE items" }).first().waitFor();
    await page.locator("#chain-status", { hasText: "chain OK" }).waitFor();
    const href = await page.getByRole("link", { name: "Export (JSON lines)" }).getAttribute("href");
    const exported = await page.evaluate(async (url) => (await fetch(url ?? "")).text(), href);
    assert.match(exported.split("\n")[0] ?? "", /"hash"/);
    await shot("audit");
  });

  test("the policy page lists the bundle and its playground explains a command", async () => {
    await page.getByRole("link", { name: "Policy" }).click();
    await page.getByRole("heading", { name: "Rules" }).waitFor();
    assert.ok((await page.locator("table", { hasText: "prod-writes-need-a-dba" }).count()) > 0);
    await page.getByLabel("User").fill("erin@corp.example");
    await page.getByLabel("Groups").fill("engineers");
    await page.getByLabel("Connection").selectOption("pg-prod");
    await page.getByLabel("Command").fill("UPDATE items SET note = 'x' WHERE id = 2");
    await page.getByRole("button", { name: "Explain" }).click();
    const decision = page.locator("#explain-result .decision");
    await decision.waitFor();
    assert.match((await decision.textContent()) ?? "", /APPROVE.*prod-writes-need-a-dba/s);
    await shot("policy");
  });

  test("the connections page shows how to connect", async () => {
    await page.getByRole("link", { name: "Connections" }).click();
    const prod = page.locator(".card", { hasText: "pg-prod" }).first();
    await prod.waitFor();
    assert.match((await prod.textContent()) ?? "", /psql "host=127\.0\.0\.1 port=\d+ dbname=pg-prod/);
    await shot("connections");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot("connections-phone");
  });

  test("every page is usable by keyboard and screen reader, at laptop and phone widths", async () => {
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 860 });
      for (const name of ["Connections", "Approvals", "Sessions", "Audit", "Policy"]) {
        await page.getByRole("link", { name, exact: true }).first().click();
        await page.getByRole("heading", { level: 1 }).first().waitFor();
        const findings = await page.evaluate(() => {
          const out: string[] = [];
          if (!document.documentElement.lang) out.push("html has no lang");
          for (const control of Array.from(document.querySelectorAll("input, select, textarea"))) {
            const element = control as HTMLInputElement;
            if (element.type === "hidden") continue;
            const named =
              (element.labels?.length ?? 0) > 0 ||
              element.getAttribute("aria-label") ||
              element.getAttribute("aria-labelledby");
            if (!named) out.push(`unlabelled ${element.tagName.toLowerCase()} ${element.name || element.id}`);
          }
          for (const control of Array.from(document.querySelectorAll("button, a[href]"))) {
            const nameText = (control.textContent ?? "").trim() || control.getAttribute("aria-label") || "";
            if (nameText === "") out.push(`nameless ${control.tagName.toLowerCase()}`);
          }
          for (const image of Array.from(document.querySelectorAll("img"))) {
            if (!image.hasAttribute("alt")) out.push("image without alt");
          }
          if (document.documentElement.scrollWidth > window.innerWidth + 1) {
            out.push(`scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
          }
          return out;
        });
        assert.deepEqual(findings, [], `${name} at ${width}px`);
      }
    }
    await page.setViewportSize({ width: 1280, height: 860 });
    // Keyboard: Tab reaches the navigation, Enter follows it, and focus is visible.
    await page.goto(`${gw}/console/connections`);
    await page.getByRole("heading", { level: 1 }).first().waitFor();
    let reached = false;
    for (let i = 0; i < 15 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => document.activeElement?.textContent?.trim() === "Audit");
    }
    assert.ok(reached, "Tab reaches the Audit link");
    const outline = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement as Element);
      return `${style.outlineStyle} ${style.outlineWidth} ${style.boxShadow}`;
    });
    assert.ok(!/^none 0px none$/.test(outline), `focus is visible (${outline})`);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Audit", level: 1 }).waitFor();
  });

  test("no page broke the Content-Security-Policy or threw", () => {
    assert.deepEqual(problems, []);
    // Expected: "who am I" before signing in, and the request without a CSRF token.
    assert.deepEqual(failed, ["401 /console/api/me", "403 /console/api/policy/explain"]);
  });
});
