import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { verifyWebhook } from "../../src/audit/index.ts";
import { type GatewayFixture, startGatewayFixture, TEST_POLICY } from "../harness/gateway-fixture.ts";
import { psql } from "../harness/psql.ts";
import { sluice } from "../harness/sluice-cli.ts";
import { startServe } from "../harness/sluice-serve.ts";

const POLICY = `${TEST_POLICY}
  - id: prod-writes-need-a-dba
    description: Writes in production wait for a DBA
    match: { protocols: [postgres], groups: [engineers], connections: { labels: { env: prod } } }
    when: 'sql.kinds.exists(k, k in ["insert", "update", "delete"])'
    effect: approve
    approval: { reviewers: [dba], min_approvals: 1, ttl: 1h }
`;

const APPROVAL_HOOK_SECRET = "approval-hook-secret-for-tests";

interface Shown {
  id: string;
  state: string;
  command?: string;
  facts?: { sql?: { kinds?: string[] } };
  requester: { user: string };
  can_review: boolean;
}

describe("statements held for approval", () => {
  let f: GatewayFixture;
  let erin: string;
  let dan: string;
  let alice: string;
  /** What the reviewers' webhook received: event header, verified signature, body. */
  const hooks: { event: string; verified: boolean; body: Record<string, unknown> }[] = [];
  let receiver: Server;

  const api = async (
    token: string,
    method: string,
    path: string,
    body?: unknown,
    base = f.gateway.publicUrl,
  ) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** Waits until the reviewer sees a pending request for `command`. */
  const pendingFor = async (command: string, base?: string): Promise<Shown> => {
    for (let i = 0; i < 100; i++) {
      const { body } = await api(dan, "GET", "/api/approvals", undefined, base);
      const found = (body.approvals as Shown[]).find((a) => a.command === command);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no pending request for ${command}`);
  };
  const note = async (id: number): Promise<string | null> => {
    const app = await f.app();
    const { rows } = await app.query("SELECT note FROM items WHERE id = $1", [id]);
    await app.end();
    return (rows[0]?.note as string | undefined) ?? null;
  };

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        hooks.push({
          event: String(req.headers["x-sluice-event"]),
          verified: verifyWebhook({
            secret: APPROVAL_HOOK_SECRET,
            timestamp: req.headers["x-sluice-timestamp"] as string | undefined,
            signature: req.headers["x-sluice-signature"] as string | undefined,
            body,
          }),
          body: JSON.parse(body.toString("utf8")) as Record<string, unknown>,
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const hookPort = (receiver.address() as AddressInfo).port;
    process.env.SLUICE_TEST_APPROVAL_HOOK_SECRET = APPROVAL_HOOK_SECRET;
    f = await startGatewayFixture({
      policy: POLICY,
      extraConfig: [
        "approvals:",
        "  hold: 4s",
        "  grants: { reviewers: [dba], max_duration: 1h }",
        "  notifications:",
        `    - { type: webhook, url: "http://127.0.0.1:${hookPort}/approvals", secret: env:SLUICE_TEST_APPROVAL_HOOK_SECRET }`,
        "",
      ].join("\n"),
    });
    erin = await f.token("erin@corp.example", ["engineers"]);
    dan = await f.token("dan@corp.example", ["dba"]);
    alice = await f.token("alice@corp.example", ["analysts"]);
    const app = await f.app();
    await app.query("CREATE TABLE items (id int PRIMARY KEY, note text)");
    await app.query("INSERT INTO items SELECT g, 'before' FROM generate_series(1, 5) g");
    await app.end();
  });
  after(async () => {
    await f.stop();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  test("psql waits with a NOTICE naming the request; an approval lets the statement run", async () => {
    const sql = "DELETE FROM items WHERE id = 1";
    const running = psql(f.conninfo(), erin, ["-c", sql]);
    const request = await pendingFor(sql);
    assert.equal(request.requester.user, "erin@corp.example");
    assert.deepEqual(request.facts?.sql?.kinds, ["delete"]);
    assert.equal(request.can_review, true);
    // The requester can see it but not approve it.
    const self = await api(erin, "POST", `/api/approvals/${request.id}/approve`, {});
    assert.equal(self.status, 409);
    assert.match(String(self.body.error), /nobody may approve or deny their own request/);
    assert.equal(await note(1), "before", "nothing runs while held");
    const approved = await api(dan, "POST", `/api/approvals/${request.id}/approve`, { reason: "ok" });
    assert.equal(approved.status, 200);
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`NOTICE: {2}sluice: approval required \\(request ${request.id}\\)`));
    assert.match(r.stderr, /waiting up to .* from dba/);
    assert.equal(await note(1), null, "the row is gone");
    // Reviewers were told, with a signed webhook, when it was asked and when it was decided.
    for (let i = 0; i < 50 && hooks.filter((h) => h.body.id === request.id).length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const told = hooks.filter((h) => h.body.id === request.id);
    assert.deepEqual(
      told.map((h) => h.event),
      ["approval.requested", "approval.approved"],
    );
    assert.ok(told.every((h) => h.verified));
    assert.equal(told[0]!.body.command, sql);
    assert.match(
      String(told[0]!.body.consoleUrl ?? told[0]!.body.console_url),
      new RegExp(`/approvals/${request.id}`),
    );
  });

  test("a denial ends the wait with a native error naming the reviewer and reason", async () => {
    const sql = "UPDATE items SET note = 'denied' WHERE id = 2";
    const running = psql(f.conninfo(), erin, ["-c", sql]);
    const request = await pendingFor(sql);
    const denied = await api(dan, "POST", `/api/approvals/${request.id}/deny`, { reason: "change freeze" });
    assert.equal(denied.status, 200);
    const r = await running;
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /ERROR: {2}sluice: denied by rule prod-writes-need-a-dba: request .* was denied by dan@corp.example: change freeze/,
    );
    assert.equal(await note(2), "before");
  });

  test("a client that stopped waiting re-runs the approved statement once", async () => {
    const sql = "UPDATE items SET note = note || '+1' WHERE id = 3";
    const r1 = await psql(f.conninfo(), erin, ["-c", sql]);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /not approved yet; it stays open until .*run the same statement again/);
    const request = (await api(erin, "GET", "/api/approvals?view=mine")).body.approvals as Shown[];
    const mine = request.find((a) => a.command === sql && a.state === "pending");
    assert.ok(mine);
    // Approved with the CLI, as a reviewer would.
    const cli = await sluiceAs(dan, ["approve", mine.id, "--reason", "fine"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`${mine.id} {2}approved`));
    const r2 = await psql(f.conninfo(), erin, ["-c", sql]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(await note(3), "before+1");
    // Exactly once: the next run asks again (and is not approved in time).
    const r3 = await psql(f.conninfo(), erin, ["-c", sql]);
    assert.equal(r3.code, 1);
    assert.equal(await note(3), "before+1");
  });

  test("two concurrent runs of one single-use approval: exactly one runs", async () => {
    const sql = "UPDATE items SET note = note || '+c' WHERE id = 2";
    const first = await psql(f.conninfo(), erin, ["-c", sql]);
    assert.equal(first.code, 1, "held until the hold ends");
    const mine = ((await api(erin, "GET", "/api/approvals?view=mine")).body.approvals as Shown[]).find(
      (a) => a.command === sql && a.state === "pending",
    );
    assert.ok(mine);
    await api(dan, "POST", `/api/approvals/${mine.id}/approve`, {});
    const [a, b] = await Promise.all([
      psql(f.conninfo(), erin, ["-c", sql]),
      psql(f.conninfo(), erin, ["-c", sql]),
    ]);
    assert.deepEqual([a.code, b.code].sort(), [0, 1]);
    assert.equal(await note(2), "before+c");
  });

  test("a statement approved for one requester does not run for another, nor in another text", async () => {
    const sql = "UPDATE items SET note = 'x' WHERE id = 4";
    const held = psql(f.conninfo(), erin, ["-c", sql]);
    const request = await pendingFor(sql);
    await held;
    await api(dan, "POST", `/api/approvals/${request.id}/approve`, {});
    const other = await f.token("eve@corp.example", ["engineers"]);
    const r = await psql(f.conninfo(), other, ["-c", sql]);
    assert.equal(r.code, 1);
    const changed = await psql(f.conninfo(), erin, ["-c", "UPDATE items SET note = 'y' WHERE id = 4"]);
    assert.equal(changed.code, 1);
    assert.equal(await note(4), "before");
  });

  test("sluice approvals lists what waits for the reviewer; a time-boxed grant adds groups on one connection", async () => {
    const before = await psql(f.conninfo("pg-dev"), alice, ["-c", "INSERT INTO items VALUES (100, 'grant')"]);
    assert.equal(before.code, 1, "analysts may not write");
    const asked = await sluiceAs(alice, [
      "request",
      "--connection",
      "pg-dev",
      "--groups",
      "engineers",
      "--for",
      "30m",
      "--reason",
      "incident 42",
      "--json",
    ]);
    assert.equal(asked.code, 0, asked.stderr);
    const grant = JSON.parse(asked.stdout) as Shown;
    const listed = await sluiceAs(dan, ["approvals", "--json"]);
    assert.ok((JSON.parse(listed.stdout) as Shown[]).some((a) => a.id === grant.id));
    const approved = await sluiceAs(dan, ["approve", grant.id]);
    assert.equal(approved.code, 0, approved.stderr);
    let r = await psql(f.conninfo("pg-dev"), alice, ["-c", "INSERT INTO items VALUES (100, 'grant')"]);
    for (let i = 0; i < 40 && r.code !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      r = await psql(f.conninfo("pg-dev"), alice, ["-c", "INSERT INTO items VALUES (100, 'grant')"]);
    }
    assert.equal(r.code, 0, r.stderr);
    const prod = await psql(f.conninfo(), alice, ["-c", "INSERT INTO items VALUES (101, 'grant')"]);
    assert.equal(prod.code, 1, "the grant holds on pg-dev only");
  });

  test("a gateway restart keeps pending requests, and nothing runs without its approval", async () => {
    const sql = "UPDATE items SET note = 'after restart' WHERE id = 5";
    const first = await startServe(f.configPath);
    const conninfo = (port: number) =>
      `host=127.0.0.1 port=${port} dbname=pg-prod user=tester sslmode=require`;
    try {
      const running = psql(conninfo(first.port), erin, ["-c", sql]);
      const base = `http://127.0.0.1:${Number(/http \S+:(\d+)/.exec(first.stderr())?.[1])}`;
      await pendingFor(sql, base);
      // The gateway dies while the statement is held: psql loses its connection, nothing ran.
      await first.stop("SIGKILL");
      const r = await running;
      assert.notEqual(r.code, 0);
    } finally {
      await first.stop("SIGKILL");
    }
    assert.equal(await note(5), "before");
    const second = await startServe(f.configPath);
    try {
      const base = `http://127.0.0.1:${Number(/http \S+:(\d+)/.exec(second.stderr())?.[1])}`;
      const request = await pendingFor(sql, base);
      assert.equal(request.state, "pending");
      const voted = await api(dan, "POST", `/api/approvals/${request.id}/approve`, {}, base);
      assert.equal(voted.status, 200);
      const r = await psql(conninfo(second.port), erin, ["-c", sql]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await note(5), "after restart");
    } finally {
      await second.stop("SIGTERM");
    }
  });

  test("every step is in the audit trail", async () => {
    const events = await f.gateway.store.readAuditChain({ limit: 10_000 });
    const types = new Set(events.map((e) => e.type));
    for (const t of [
      "action.held",
      "approval.requested",
      "approval.voted",
      "approval.approved",
      "approval.denied",
      "approval.used",
    ]) {
      assert.ok(types.has(t), `missing ${t}`);
    }
  });

  const sluiceAs = (token: string, args: string[]) =>
    sluice([...args, "--gateway", f.gateway.publicUrl], { env: { SLUICE_TOKEN: token } });
});

describe("approvals across gateways sharing a PostgreSQL store", () => {
  let f: GatewayFixture;
  const savedPassword = process.env.PGPASSWORD;

  before(async () => {
    f = await startGatewayFixture({
      policy: POLICY,
      extraConfig: "approvals:\n  hold: 20s\n",
      store: async (pg) => {
        const admin = await pg.admin();
        await admin.query("CREATE DATABASE sluice_store");
        await admin.end();
        // The store's password as an operator gives it; the `sluice serve` child inherits it.
        process.env.PGPASSWORD = pg.superPassword;
        return `postgres://${pg.superuser}@${pg.host}:${pg.port}/sluice_store`;
      },
    });
    const app = await f.app();
    await app.query("CREATE TABLE items (id int PRIMARY KEY, note text)");
    await app.query("INSERT INTO items VALUES (1, 'before')");
    await app.end();
  });
  after(async () => {
    await f.stop();
    if (savedPassword === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = savedPassword;
  });

  test("a reviewer on another gateway process wakes the held psql statement", async () => {
    const serve = await startServe(f.configPath);
    try {
      const httpPort = Number(/http \S+:(\d+)/.exec(serve.stderr())?.[1]);
      const other = `http://127.0.0.1:${httpPort}`;
      const erin = await f.token("erin@corp.example", ["engineers"]);
      const dan = await f.token("dan@corp.example", ["dba"]);
      const sql = "UPDATE items SET note = 'from afar' WHERE id = 1";
      const running = psql(f.conninfo(), erin, ["-c", sql]);
      let id: string | undefined;
      for (let i = 0; i < 100 && id === undefined; i++) {
        const response = await fetch(`${other}/api/approvals`, {
          headers: { authorization: `Bearer ${dan}` },
        });
        const list = ((await response.json()) as { approvals: Shown[] }).approvals;
        id = list.find((a) => a.command === sql)?.id;
        if (id === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(id, "the other gateway sees the request");
      const started = Date.now();
      const vote = await fetch(`${other}/api/approvals/${id}/approve`, {
        method: "POST",
        headers: { authorization: `Bearer ${dan}`, "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(vote.status, 200);
      const r = await running;
      assert.equal(r.code, 0, r.stderr);
      assert.ok(Date.now() - started < 10_000, "woken through the store, well before the hold ends");
      const app = await f.app();
      const { rows } = await app.query("SELECT note FROM items WHERE id = 1");
      await app.end();
      assert.equal(rows[0].note, "from afar");
    } finally {
      await serve.stop("SIGTERM");
    }
  });
});
