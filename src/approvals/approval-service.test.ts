import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { AuditLog } from "../audit/index.ts";
import type { Principal } from "../core/index.ts";
import { SqliteStore } from "../store/index.ts";
import { ApprovalService } from "./approval-service.ts";
import type { ApprovalRequest } from "./model.ts";

const erin: Principal = { user: "erin@corp.example", groups: ["engineers"], kind: "human" };
const dan: Principal = { user: "dan@corp.example", groups: ["dba"], kind: "human" };
const dora: Principal = { user: "dora@corp.example", groups: ["dba"], kind: "human" };
const ed: Principal = { user: "ed@corp.example", groups: ["engineers", "dba"], kind: "human" };
const agentForDan: Principal = {
  user: "copilot",
  groups: ["agents"],
  kind: "agent",
  onBehalfOf: { user: "dan@corp.example", groups: ["dba"] },
};

describe("approval service", () => {
  let store: SqliteStore;
  let audit: AuditLog;
  let service: ApprovalService;
  let clock = Date.parse("2026-11-25T10:00:00Z");

  beforeEach(async () => {
    clock = Date.parse("2026-11-25T10:00:00Z");
    store = new SqliteStore(":memory:");
    audit = new AuditLog(store);
    service = new ApprovalService({
      store,
      audit,
      grants: { reviewers: ["dba"], minApprovals: 1, maxSeconds: 8 * 3600, requestTtlSeconds: 3600 },
      log: () => {},
      now: () => clock,
      pollMs: 50,
    });
    await service.start();
  });
  afterEach(async () => {
    await service.close();
    await store.close();
  });

  const command = (principal: Principal, text = "UPDATE t SET x = 1 WHERE id = 1", minApprovals = 1) =>
    service.requestCommand({
      principal,
      connection: "pg-prod",
      sessionId: "s1",
      protocol: "postgres",
      command: text,
      facts: { sql: { kinds: ["update"] } },
      ruleIds: ["prod-writes"],
      approval: { reviewers: ["dba"], minApprovals, ttlSeconds: 600 },
    });

  it("approves at the quorum, from distinct reviewers in the reviewer groups", async () => {
    const request = await command(erin, undefined, 2);
    await assert.rejects(service.vote(request.id, erin, "approve"), /own request/);
    await assert.rejects(
      service.vote(request.id, { ...erin, user: "eve@corp.example" }, "approve"),
      /only members of dba/,
    );
    const one = await service.vote(request.id, dan, "approve", "looks fine");
    assert.equal(one.state, "pending");
    await assert.rejects(service.vote(request.id, dan, "approve"), /already voted/);
    const two = await service.vote(request.id, dora, "approve");
    assert.equal(two.state, "approved");
    assert.equal(two.validUntil, new Date(clock + 600_000).toISOString());
    await assert.rejects(service.vote(request.id, ed, "approve"), /already approved/);
  });

  it("refuses self-approval even for a reviewer, and for an agent acting for the requester", async () => {
    const own = await command(ed);
    await assert.rejects(service.vote(own.id, ed, "approve"), /own request/);
    const forDan = await command(agentForDan);
    await assert.rejects(service.vote(forDan.id, dan, "approve"), /own request/);
    const byAgent = await command(erin);
    await assert.rejects(service.vote(byAgent.id, agentForDan, "approve"), /own request|only people/);
  });

  it("ends a request at the first denial, which needs a reason", async () => {
    const request = await command(erin, undefined, 2);
    await service.vote(request.id, dan, "approve");
    await assert.rejects(service.vote(request.id, dora, "deny"), /needs a reason/);
    const denied = await service.vote(request.id, dora, "deny", "not during the freeze");
    assert.equal(denied.state, "denied");
    await assert.rejects(service.vote(request.id, ed, "approve"), /already denied/);
  });

  it("expires pending requests and ignores votes after expiry", async () => {
    const request = await command(erin);
    clock += 601_000;
    await assert.rejects(service.vote(request.id, dan, "approve"), /expired/);
    assert.equal((await service.get(request.id))?.state, "expired");
  });

  it("lets an approved command run exactly once, only for the same requester, connection and text", async () => {
    const text = "DELETE FROM t WHERE id = 7";
    const request = await command(erin, text);
    await service.vote(request.id, dan, "approve");
    assert.equal(await service.claimApproved(dan.user, "pg-prod", text), undefined);
    assert.equal(await service.claimApproved(erin.user, "pg-dev", text), undefined);
    assert.equal(await service.claimApproved(erin.user, "pg-prod", `${text} `), undefined);
    const claimed = await service.claimApproved(erin.user, "pg-prod", text);
    assert.equal(claimed?.id, request.id);
    assert.equal(await service.claimApproved(erin.user, "pg-prod", text), undefined);
    assert.equal((await service.get(request.id))?.state, "used");
  });

  it("does not let an approval be used after its validity", async () => {
    const text = "DELETE FROM t WHERE id = 8";
    const request = await command(erin, text);
    await service.vote(request.id, dan, "approve");
    clock += 601_000;
    assert.equal(await service.claimApproved(erin.user, "pg-prod", text), undefined);
  });

  it("wakes a waiter when a reviewer decides, and times out otherwise", async () => {
    const request = await command(erin);
    const started = Date.now();
    const pending = await service.waitFor(request.id, 100);
    assert.equal(pending?.state, "pending");
    assert.ok(Date.now() - started >= 90);
    const waiting = service.waitFor(request.id, 5_000);
    setTimeout(() => void service.vote(request.id, dan, "approve"), 50);
    const decided = (await waiting) as ApprovalRequest;
    assert.equal(decided.state, "approved");
    const controller = new AbortController();
    const other = await command(erin, "UPDATE t SET x = 2 WHERE id = 2");
    const aborted = service.waitFor(other.id, 5_000, controller.signal);
    controller.abort();
    assert.equal((await aborted)?.state, "pending");
  });

  it("grants groups on one connection until the grant runs out", async () => {
    await assert.rejects(
      service.requestGrant({
        principal: erin,
        connection: "pg-prod",
        groups: ["writers"],
        durationSeconds: 9 * 3600,
        reason: "x",
      }),
      /at most/,
    );
    const grant = await service.requestGrant({
      principal: erin,
      connection: "pg-prod",
      groups: ["writers"],
      durationSeconds: 1800,
      reason: "incident 42",
    });
    assert.deepEqual(service.grantedGroups(erin.user, "pg-prod"), []);
    await service.vote(grant.id, dan, "approve");
    for (let i = 0; i < 40 && service.grantedGroups(erin.user, "pg-prod").length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.deepEqual(service.grantedGroups(erin.user, "pg-prod"), ["writers"]);
    assert.deepEqual(service.grantedGroups(erin.user, "pg-dev"), []);
    clock += 1801_000;
    assert.deepEqual(service.grantedGroups(erin.user, "pg-prod"), []);
  });

  it("records every step in the audit trail", async () => {
    const request = await command(erin);
    await service.vote(request.id, dan, "approve", "ok");
    await service.claimApproved(erin.user, "pg-prod", "UPDATE t SET x = 1 WHERE id = 1");
    await audit.settle();
    const types = (await store.readAuditChain({ limit: 100 })).map((e) => e.type);
    assert.deepEqual(types, ["approval.requested", "approval.voted", "approval.approved", "approval.used"]);
  });
});
