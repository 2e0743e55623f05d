import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type GatewayFixture, startGatewayFixture } from "../harness/gateway-fixture.ts";
import { LivePsql } from "../harness/live-psql.ts";

/** Runs statements until the gateway has closed the session (or the deadline passes). */
async function closedWithin(live: LivePsql, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    try {
      const { stderr } = await live.run("SELECT 1;", 5000);
      if (/session ended|connection/i.test(stderr)) return stderr;
    } catch (error) {
      return String(error);
    }
  }
  throw new Error("the session was not closed in time");
}

describe("live sessions of revoked or expired identities", () => {
  let f: GatewayFixture;
  const logs: string[] = [];

  before(async () => {
    f = await startGatewayFixture({
      log: (message) => logs.push(message),
      extraConfig: `tokens: { leeway: 0s }
identity: { revocation_check_interval: 1s }
`,
    });
  });
  after(() => f?.stop());

  test("revoking an API key closes the psql sessions opened with its tokens; others stay", async () => {
    const accounts = f.gateway.identity.serviceAccounts;
    const created = await accounts.create({
      account: "ci-deployer",
      groups: ["engineers"],
      ttlSeconds: 3600,
    });
    const { accessToken } = await accounts.exchange(created.key);
    const revokedLive = new LivePsql(f.conninfo("pg-dev"), accessToken);
    const otherLive = new LivePsql(f.conninfo("pg-dev"), await f.token("erin@corp.example", ["engineers"]));
    try {
      const first = await revokedLive.run("SELECT 'before';");
      assert.equal(first.stdout, "before", first.stderr);
      assert.equal((await otherLive.run("SELECT 'other';")).stdout, "other");
      assert.equal(await accounts.revoke(created.record.id), true);
      const started = Date.now();
      const stderr = await closedWithin(revokedLive, 5000);
      assert.ok(Date.now() - started < 5000);
      assert.match(stderr, /session ended: the login was revoked or has ended/);
      assert.equal((await otherLive.run("SELECT 'still open';")).stdout, "still open");
    } finally {
      await revokedLive.close().catch(() => {});
      await otherLive.close();
    }
    assert.ok(
      logs.some((line) => /ended 1 live session/.test(line)),
      logs.join("\n"),
    );
  });

  test("a session whose credential expires is closed within the check interval", async () => {
    const live = new LivePsql(f.conninfo("pg-dev"), await f.token("erin@corp.example", ["engineers"], 2));
    try {
      assert.equal((await live.run("SELECT 'short-lived';")).stdout, "short-lived");
      const stderr = await closedWithin(live, 6000);
      assert.match(stderr, /session ended: the credential has expired/);
    } finally {
      await live.close().catch(() => {});
    }
  });
});
