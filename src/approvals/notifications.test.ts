import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { verifyWebhook } from "../audit/index.ts";
import type { ApprovalRequest } from "./model.ts";
import {
  APPROVAL_DELIVERY_HEADER,
  type ApprovalNotice,
  ApprovalNotifier,
  approvalNotice,
  escapeSlack,
  slackPayload,
} from "./notifications.ts";

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly at: number;
}

/** A real HTTP receiver on loopback; `answer` picks the status of each request (in order). */
class Receiver {
  readonly received: Received[] = [];
  answer: (index: number) => number = () => 200;
  #server: Server;
  #waiters: { count: number; resolve: () => void }[] = [];
  url = "";

  constructor() {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const index = this.received.length;
        this.received.push({
          path: request.url ?? "",
          headers: request.headers,
          body: Buffer.concat(chunks),
          at: Date.now(),
        });
        response.writeHead(this.answer(index)).end("ok");
        for (const waiter of this.#waiters.filter((w) => this.received.length >= w.count)) waiter.resolve();
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Resolves once `count` requests arrived. */
  until(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  reset(): void {
    this.received.length = 0;
    this.answer = () => 200;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

const SECRET = "approval-webhook-secret";

const NOTICE: ApprovalNotice = {
  id: "apr_01",
  kind: "command",
  requester: "alice@corp.example",
  connection: "pg-prod",
  command: "DELETE FROM orders WHERE id = 42",
  ruleIds: ["deletes-need-approval"],
  reviewers: ["dba"],
  minApprovals: 1,
  expiresAt: "2026-01-01T10:00:00.000Z",
  state: "pending",
  event: "requested",
  consoleUrl: "https://gw.corp.example/approvals/apr_01",
};

/** Everything a Slack message shows, as one string (section, context, fallback text). */
function shownText(payload: Record<string, unknown>): string {
  return JSON.stringify(payload);
}

const receiver = new Receiver();
let logs: string[] = [];
const log = (message: string) => logs.push(message);
before(() => receiver.start());
after(() => receiver.stop());
afterEach(() => {
  receiver.reset();
  logs = [];
});

describe("ApprovalNotifier: generic webhook", () => {
  it("POSTs the notice as JSON, signed like the audit webhook (the signature verifies)", async () => {
    const notifier = new ApprovalNotifier(
      [{ type: "webhook", url: `${receiver.url}/hook`, secret: SECRET }],
      {
        log,
      },
    );
    notifier.notify(NOTICE);
    await receiver.until(1);
    await notifier.close();
    const [request] = receiver.received;
    assert.ok(request);
    assert.equal(request.path, "/hook");
    assert.equal(request.headers["content-type"], "application/json");
    assert.equal(request.headers["x-sluice-event"], "approval.requested");
    assert.equal(request.headers[APPROVAL_DELIVERY_HEADER], "apr_01.requested");
    const timestamp = request.headers["x-sluice-timestamp"] as string;
    const signature = request.headers["x-sluice-signature"] as string;
    assert.match(signature, /^sha256=[0-9a-f]{64}$/);
    assert.equal(verifyWebhook({ secret: SECRET, timestamp, signature, body: request.body }), true);
    assert.equal(verifyWebhook({ secret: "other", timestamp, signature, body: request.body }), false);
    const body = JSON.parse(request.body.toString("utf8")) as Record<string, unknown>;
    assert.deepEqual(body, {
      type: "approval.requested",
      id: "apr_01",
      kind: "command",
      event: "requested",
      state: "pending",
      requester: "alice@corp.example",
      connection: "pg-prod",
      command: "DELETE FROM orders WHERE id = 42",
      ruleIds: ["deletes-need-approval"],
      reviewers: ["dba"],
      minApprovals: 1,
      expiresAt: "2026-01-01T10:00:00.000Z",
      consoleUrl: "https://gw.corp.example/approvals/apr_01",
    });
    assert.deepEqual(logs, []);
  });

  it("retries after a 500 with backoff, signing each attempt afresh, and stops at the first 2xx", async () => {
    receiver.answer = (index) => (index === 0 ? 500 : 204);
    const notifier = new ApprovalNotifier(
      [{ type: "webhook", url: `${receiver.url}/hook`, secret: SECRET }],
      {
        log,
      },
    );
    notifier.notify(NOTICE);
    await receiver.until(2);
    await notifier.close();
    assert.equal(receiver.received.length, 2);
    const [first, second] = receiver.received;
    assert.ok(second!.at - first!.at >= 400, "waited before retrying");
    assert.deepEqual(first!.body, second!.body);
    assert.equal(first!.headers[APPROVAL_DELIVERY_HEADER], second!.headers[APPROVAL_DELIVERY_HEADER]);
    for (const r of receiver.received) {
      const ok = verifyWebhook({
        secret: SECRET,
        timestamp: r.headers["x-sluice-timestamp"] as string,
        signature: r.headers["x-sluice-signature"] as string,
        body: r.body,
      });
      assert.equal(ok, true);
    }
    assert.equal(logs.length, 1);
    assert.match(
      logs[0]!,
      /approval apr_01 requested: notification to webhook http:\/\/127\.0\.0\.1:\d+\/hook: the receiver answered HTTP 500; retrying in 500 ms/,
    );
  });

  it("gives up after the retries, and at once on a 4xx that will not change; notify never throws", async () => {
    receiver.answer = () => 503;
    const notifier = new ApprovalNotifier(
      [{ type: "webhook", url: `${receiver.url}/hook`, secret: SECRET }],
      {
        log,
        retries: 1,
      },
    );
    notifier.notify(NOTICE);
    await receiver.until(2);
    await notifier.close();
    assert.equal(receiver.received.length, 2);
    assert.match(logs.at(-1)!, /failed after 2 attempts: the receiver answered HTTP 503/);

    receiver.reset();
    logs = [];
    receiver.answer = () => 400;
    const refused = new ApprovalNotifier([{ type: "webhook", url: `${receiver.url}/hook`, secret: SECRET }], {
      log,
    });
    refused.notify(NOTICE);
    await refused.close();
    assert.equal(receiver.received.length, 1);
    assert.match(logs.at(-1)!, /failed after 1 attempts: the receiver answered HTTP 400/);

    // Nobody listening: logged, never thrown; close does not wait out the backoff.
    logs = [];
    const nowhere = new ApprovalNotifier(
      [{ type: "webhook", url: "http://127.0.0.1:1/hook", secret: SECRET }],
      { log, retries: 5 },
    );
    assert.doesNotThrow(() => nowhere.notify(NOTICE));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await nowhere.close();
    assert.ok(Date.now() - started < 2000);
    assert.match(logs.join("\n"), /not delivered .*the notifier closed/);
    nowhere.notify(NOTICE);
    assert.match(logs.at(-1)!, /notifier closed, requested notice not sent/);
  });

  it("refuses plain http:// off loopback, and URLs with credentials", () => {
    assert.throws(
      () =>
        new ApprovalNotifier([{ type: "webhook", url: "http://hooks.corp.example/x", secret: SECRET }], {
          log,
        }),
      /expected https:\/\/ \(plain http:\/\/ only on loopback\)/,
    );
    assert.throws(
      () => new ApprovalNotifier([{ type: "slack", url: "http://10.0.0.1/services/x" }], { log }),
      /plain http:\/\/ only on loopback/,
    );
    assert.throws(
      () =>
        new ApprovalNotifier([{ type: "webhook", url: "https://u:p@hooks.corp.example/", secret: SECRET }], {
          log,
        }),
      /must not contain a user or password/,
    );
    assert.doesNotThrow(
      () => new ApprovalNotifier([{ type: "slack", url: "https://hooks.slack.com/services/T/B/x" }], { log }),
    );
    assert.doesNotThrow(() => new ApprovalNotifier([{ type: "slack", url: "http://[::1]:9/x" }], { log }));
  });
});

describe("ApprovalNotifier: Slack-compatible incoming webhook", () => {
  it("POSTs text and blocks: a section with requester, connection and the command in a code block, Approve and Deny links", async () => {
    const notifier = new ApprovalNotifier([{ type: "slack", url: `${receiver.url}/services/T0/B0/secret` }], {
      log,
    });
    notifier.notify(NOTICE);
    await receiver.until(1);
    await notifier.close();
    const [request] = receiver.received;
    assert.equal(request!.path, "/services/T0/B0/secret");
    assert.equal(request!.headers["x-sluice-signature"], undefined);
    const payload = JSON.parse(request!.body.toString("utf8")) as {
      text: string;
      blocks: { type: string; text?: { type: string; text: string }; elements?: Record<string, unknown>[] }[];
    };
    assert.equal(
      payload.text,
      "Approval requested: `alice@\u200bcorp.example` asks for a command on `pg-prod`",
    );
    assert.deepEqual(
      payload.blocks.map((b) => b.type),
      ["section", "context", "actions"],
    );
    const section = payload.blocks[0]!.text!;
    assert.equal(section.type, "mrkdwn");
    assert.equal(
      section.text,
      [
        "*Approval requested*",
        "*Requester:* `alice@\u200bcorp.example`",
        "*Connection:* `pg-prod`",
        "*Command:*",
        "```",
        "DELETE FROM orders WHERE id = 42",
        "```",
      ].join("\n"),
    );
    assert.deepEqual(payload.blocks[2]!.elements, [
      {
        type: "button",
        text: { type: "plain_text", text: "Approve" },
        url: "https://gw.corp.example/approvals/apr_01?action=approve",
        action_id: "approve",
        style: "primary",
      },
      {
        type: "button",
        text: { type: "plain_text", text: "Deny" },
        url: "https://gw.corp.example/approvals/apr_01?action=deny",
        action_id: "deny",
        style: "danger",
      },
    ]);
    // The webhook URL's path is its secret: it never appears in logs.
    assert.deepEqual(logs, []);
  });

  it("escapes user text: no Slack markup, links or mentions, no way out of the code block", () => {
    const hostile: ApprovalNotice = {
      ...NOTICE,
      requester: "<!channel> @here mallory",
      connection: "pg-prod>&<@U024BE7LH>",
      reason: "urgent <https://evil.example|click here> *now*",
      command:
        "SELECT 1; -- <!everyone> <@U024BE7LH> @channel &lt; <https://evil.example|Approve>\n```\n*bold* `x`",
    };
    const payload = slackPayload(hostile);
    const all = shownText(payload);
    for (const raw of [
      "<!channel>",
      "<!everyone>",
      "<@U024BE7LH>",
      "<https://evil.example",
      "@channel",
      "@here",
    ]) {
      assert.ok(!all.includes(raw), `${raw} must not reach Slack as is`);
    }
    const section = (payload.blocks as { text?: { text: string } }[])[0]!.text!.text;
    assert.match(section, /&lt;!channel&gt; @\u200bhere mallory/);
    assert.match(section, /`pg-prod&gt;&amp;&lt;@\u200bU024BE7LH&gt;`/);
    // `&lt;` typed by the user stays text: its `&` is escaped too.
    assert.match(section, /&amp;lt;/);
    // The command's own ``` cannot close the block: exactly one opening and one closing fence.
    assert.equal(section.split("```").length - 1, 2);
    assert.ok(section.endsWith("\n```"));
    assert.equal(escapeSlack("a<b>&c"), "a&lt;b&gt;&amp;c");
  });

  it("cuts a command that would not fit a section, and links only to the console after a decision", () => {
    const long = { ...NOTICE, command: `SELECT '${"x&".repeat(3000)}'` };
    const section = (slackPayload(long).blocks as { text?: { text: string } }[])[0]!.text!.text;
    assert.ok(section.length <= 3000, `section has ${section.length} characters`);
    assert.match(section, /… \(cut: 6009 characters; the console shows it whole\)\n```$/);
    assert.doesNotMatch(section, /&am\n|&a\n|&\n/);

    const denied = slackPayload({ ...NOTICE, event: "denied", state: "denied" });
    assert.match(denied.text as string, /^Approval denied:/);
    assert.deepEqual((denied.blocks as { elements?: unknown[] }[])[2]!.elements, [
      {
        type: "button",
        text: { type: "plain_text", text: "Open in console" },
        url: "https://gw.corp.example/approvals/apr_01",
        action_id: "open",
      },
    ]);
    const grant = slackPayload({
      ...NOTICE,
      kind: "grant",
      command: undefined as unknown as string,
      groups: ["dba", "on-call"],
      reason: "incident 42",
    });
    const grantSection = (grant.blocks as { text?: { text: string } }[])[0]!.text!.text;
    assert.match(grantSection, /\*Groups:\* `dba`, `on-call`/);
    assert.match(grantSection, /\*Reason:\* `incident 42`/);
  });

  it("sends one notice to every target", async () => {
    const notifier = new ApprovalNotifier(
      [
        { type: "webhook", url: `${receiver.url}/a`, secret: SECRET },
        { type: "slack", url: `${receiver.url}/b` },
      ],
      { log },
    );
    notifier.notify(NOTICE);
    await notifier.close();
    assert.deepEqual(receiver.received.map((r) => r.path).sort(), ["/a", "/b"]);
  });
});

describe("approvalNotice", () => {
  it("builds the notice of a request, with the console link", () => {
    const request: ApprovalRequest = {
      id: "apr 2",
      kind: "command",
      state: "pending",
      requester: {
        user: "agent-7",
        groups: ["agents"],
        kind: "agent",
        onBehalfOf: { user: "bob@corp.example", groups: ["engineers"] },
      },
      connection: "pg-prod",
      command: "DROP TABLE t",
      ruleIds: ["r1"],
      reviewers: ["dba"],
      minApprovals: 2,
      createdAt: "2026-01-01T09:00:00.000Z",
      expiresAt: "2026-01-01T10:00:00.000Z",
      votes: [],
      version: 1,
    };
    assert.deepEqual(approvalNotice(request, "requested", "https://gw.corp.example/"), {
      id: "apr 2",
      kind: "command",
      requester: "agent-7",
      onBehalfOf: "bob@corp.example",
      connection: "pg-prod",
      command: "DROP TABLE t",
      ruleIds: ["r1"],
      reviewers: ["dba"],
      minApprovals: 2,
      expiresAt: "2026-01-01T10:00:00.000Z",
      state: "pending",
      event: "requested",
      consoleUrl: "https://gw.corp.example/approvals/apr%202",
    });
  });
});
