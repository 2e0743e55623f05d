import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { startGateway } from "../../src/app/gateway.ts";
import { verifyWebhook, WebhookSink } from "../../src/audit/index.ts";
import { parseConfig } from "../../src/config/index.ts";
import { type AuditRecord, SqliteStore } from "../../src/store/index.ts";
import { freePort } from "../harness/free-port.ts";
import { TEST_POLICY } from "../harness/gateway-fixture.ts";
import { startSyslogReceiver } from "../harness/syslog-receiver.ts";

const SECRET = "webhook-secret-Ünïcode";

/** How the test receiver answers one request. */
type Answer = "ok" | "500" | "drop" | "hang";

interface Delivery {
  readonly seqs: number[];
  readonly validSignature: boolean;
  readonly texts: string[];
}

/** An HTTP receiver on loopback that checks signatures and answers as scripted, then 200. */
async function startWebhookReceiver(
  port: number,
  secret: string,
  script: Answer[] = [],
): Promise<{
  server: Server;
  url: string;
  deliveries: Delivery[];
  attempts: () => number;
  close(): Promise<void>;
}> {
  const deliveries: Delivery[] = [];
  let attempts = 0;
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      attempts++;
      const answer = script.shift() ?? "ok";
      if (answer === "drop") {
        request.socket.destroy();
        return;
      }
      if (answer === "hang") return;
      if (answer === "500") {
        response.writeHead(500).end("try later");
        return;
      }
      const body = Buffer.concat(chunks);
      const validSignature = verifyWebhook({
        secret,
        timestamp: request.headers["x-sluice-timestamp"] as string | undefined,
        signature: request.headers["x-sluice-signature"] as string | undefined,
        body,
      });
      const events = (
        JSON.parse(body.toString("utf8")) as { events: { seq: number; data: { text?: string } }[] }
      ).events;
      deliveries.push({
        seqs: events.map((e) => e.seq),
        validSignature,
        texts: events.map((e) => e.data.text ?? ""),
      });
      response.writeHead(validSignature ? 200 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit?tenant=a`,
    deliveries,
    attempts: () => attempts,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const delivered = (deliveries: Delivery[]) =>
  [...new Set(deliveries.flatMap((d) => d.seqs))].sort((a, b) => a - b);

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the webhook audit sink against a real HTTP receiver", () => {
  let dir: string;
  let store: SqliteStore;
  const logs: string[] = [];
  let nextSeq = 1;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sluice-webhook-it-"));
    store = new SqliteStore(join(dir, "audit.db"));
    logs.length = 0;
    nextSeq = 1;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function record(count: number, text = (seq: number) => `SELECT ${seq}`): Promise<void> {
    const records: AuditRecord[] = Array.from({ length: count }, () => {
      const seq = nextSeq++;
      return {
        id: `e${seq}`,
        time: new Date().toISOString(),
        type: "action.allowed",
        sessionId: "sess",
        user: "u",
        connection: "pg-prod",
        effect: "allow",
        data: { text: text(seq) },
      };
    });
    await store.appendAudit(records);
  }

  const sink = (url: string, secret = SECRET) =>
    new WebhookSink({
      store,
      url,
      secret,
      cursorPath: join(dir, "webhook.cursor"),
      batchSize: 4,
      timeoutMs: 300,
      pollMs: 10,
      retry: { initialMs: 20, maxMs: 100 },
      log: (m) => logs.push(m),
    });

  test("failed attempts (500, a dropped connection, no answer) are retried until every event arrived, signed", async () => {
    const receiver = await startWebhookReceiver(0, SECRET, ["500", "drop", "500", "hang", "drop"]);
    try {
      await record(10, (seq) => (seq === 5 ? "SELECT 1 -- \n<134>1 forged\u001b[2J" : `SELECT ${seq}`));
      const live = sink(receiver.url);
      await live.start();
      await until(() => live.exportedThrough === 10, "everything delivered");
      await live.close();
      assert.deepEqual(delivered(receiver.deliveries), range(1, 10));
      assert.ok(receiver.deliveries.every((d) => d.validSignature));
      assert.ok(
        receiver.deliveries.every((d) => d.seqs.length <= 4),
        "bounded batches",
      );
      assert.ok(receiver.attempts() >= 5 + 3, `attempts: ${receiver.attempts()}`);
      assert.ok(
        logs.some((m) => m.includes("HTTP 500")),
        logs.join("\n"),
      );
      assert.ok(logs.some((m) => m.includes("delivering again")));
      assert.ok(
        receiver.deliveries.some((d) => d.texts.includes("SELECT 1 -- \n<134>1 forged\u001b[2J")),
        "injected text arrives as data",
      );
    } finally {
      await receiver.close();
    }
  });

  test("nothing is lost across sink restarts, also while the receiver is down", async () => {
    const port = await freePort();
    let receiver = await startWebhookReceiver(port, SECRET);
    const url = receiver.url;
    const all: Delivery[] = [];
    try {
      await record(6);
      const first = sink(url);
      await first.start();
      await until(() => first.exportedThrough === 6, "the first six");
      all.push(...receiver.deliveries);
      await receiver.close();

      await record(5); // the receiver is down: these stay in the store
      await assert.rejects(first.close(), /ECONNREFUSED|socket hang up|ECONNRESET/);
      assert.equal(first.exportedThrough, 6);

      await record(2); // while no sink runs at all
      receiver = await startWebhookReceiver(port, SECRET, ["500"]);
      const second = sink(url);
      await second.start();
      await until(() => second.exportedThrough === 13, "the rest after the restart");
      await second.close();
      all.push(...receiver.deliveries);
      assert.deepEqual(delivered(all), range(1, 13));
      assert.ok(all.every((d) => d.validSignature));
      assert.ok(Math.min(...receiver.deliveries.flatMap((d) => d.seqs)) === 7, "continues from the cursor");
    } finally {
      await receiver.close();
    }
  });

  test("a receiver that rejects the signature (wrong secret) gets retries, and the cursor does not move", async () => {
    const receiver = await startWebhookReceiver(0, "the receiver's secret");
    try {
      await record(2);
      const live = sink(receiver.url, "another secret");
      await live.start();
      await until(() => receiver.deliveries.length >= 2, "two attempts");
      assert.equal(live.exportedThrough, 0);
      assert.ok(receiver.deliveries.every((d) => !d.validSignature));
      assert.ok(logs.some((m) => m.includes("HTTP 401")));
      await assert.rejects(live.close(), /HTTP 401/);
    } finally {
      await receiver.close();
    }
  });
});

describe("audit sinks configured in the gateway", () => {
  test("syslog and webhook sinks from the configuration file deliver what the gateway records", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-sinks-gw-"));
    const syslog = await startSyslogReceiver();
    const webhook = await startWebhookReceiver(0, SECRET, ["500"]);
    try {
      mkdirSync(join(dir, "policies"));
      writeFileSync(join(dir, "policies", "test.yaml"), TEST_POLICY);
      const yaml = [
        "listeners: { http: 127.0.0.1:0, postgres: 127.0.0.1:0 }",
        "store: sqlite:./data/sluice.db",
        "signing_key: file:./data/signing-key.pem",
        "policies: ./policies",
        "audit:",
        "  sinks:",
        `    - { type: syslog, address: "tcp://127.0.0.1:${syslog.port}", facility: audit, hostname: gw-1 }`,
        `    - { type: webhook, url: "${webhook.url}", secret: env:TEST_SIEM_SECRET, batch_size: 2, timeout: 2s }`,
        "",
      ].join("\n");
      const config = await parseConfig(yaml, "sluice.yaml", dir, { env: { TEST_SIEM_SECRET: SECRET } });
      assert.equal(JSON.stringify(config).includes(SECRET), false, "the secret is not in the config's JSON");
      const gateway = await startGateway(config, {
        log: () => {},
        watchPolicies: false,
        allowPlaintext: true,
      });
      try {
        await gateway.store.appendAudit(
          range(1, 5).map((n) => ({
            id: `gw-${n}`,
            time: new Date().toISOString(),
            type: "action.allowed",
            sessionId: "s",
            user: "carol@corp.example",
            connection: "pg-prod",
            effect: "allow",
            data: { text: `SELECT ${n}` },
          })),
        );
        await until(
          () => syslog.messages.length >= 5 && delivered(webhook.deliveries).length >= 5,
          "both sinks",
        );
      } finally {
        await gateway.close();
      }
      // Closing signs the chain's head: an audit.checkpoint event follows the five.
      const allowed = syslog.messages.filter((m) => m.includes(" action.allowed [sluice@32473 "));
      assert.equal(allowed.length, 5);
      assert.ok(allowed.every((m) => m.startsWith(`<${13 * 8 + 6}>1 `) && m.includes(" gw-1 sluice ")));
      assert.deepEqual(delivered(webhook.deliveries).slice(0, 5), range(1, 5));
      assert.ok(webhook.deliveries.every((d) => d.validSignature && d.seqs.length <= 2));
      const cursors = readdirSync(join(dir, "data")).filter((name) => name.endsWith(".cursor"));
      assert.equal(cursors.length, 2, `cursor files beside the store: ${cursors.join(", ")}`);
    } finally {
      await syslog.close();
      await webhook.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
