import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { type AuditRecord, SqliteStore } from "../store/index.ts";
import { signWebhook, verifyWebhook, WebhookSink } from "./webhook-sink.ts";

const SECRET = "s3cret-for-tests";

test("the signature is HMAC-SHA256 over timestamp, a dot and the exact body", () => {
  const body = '{"events":[{"seq":1}]}';
  const expected = createHmac("sha256", SECRET).update(`1767225600.${body}`).digest("hex");
  assert.equal(signWebhook(SECRET, "1767225600", body), `sha256=${expected}`);
  assert.equal(signWebhook(SECRET, "1767225600", Buffer.from(body)), `sha256=${expected}`);
});

test("verification rejects another body, another timestamp, another secret and an old timestamp", () => {
  const body = '{"events":[]}';
  const timestamp = "1767225600";
  const signature = signWebhook(SECRET, timestamp, body);
  const ok = { secret: SECRET, timestamp, signature, body, nowSeconds: 1_767_225_630 };
  assert.equal(verifyWebhook(ok), true);
  assert.equal(verifyWebhook({ ...ok, body: '{"events":[{}]}' }), false);
  assert.equal(verifyWebhook({ ...ok, timestamp: "1767225601" }), false);
  assert.equal(verifyWebhook({ ...ok, secret: "other" }), false);
  assert.equal(verifyWebhook({ ...ok, nowSeconds: 1_767_225_600 + 301 }), false, "replayed later");
  assert.equal(verifyWebhook({ ...ok, signature: undefined }), false);
  assert.equal(verifyWebhook({ ...ok, signature: signature.slice(0, -1) }), false);
  assert.equal(verifyWebhook({ ...ok, timestamp: "1767225600.5" }), false);
});

let dir: string;
let store: SqliteStore;
let server: Server;
let url: string;
const logs: string[] = [];
let handler: (request: IncomingMessage, body: Buffer) => number | "hang" = () => 200;
const requests: { headers: IncomingMessage["headers"]; body: Buffer }[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "sluice-webhook-"));
  store = new SqliteStore(join(dir, "audit.db"));
  logs.length = 0;
  requests.length = 0;
  handler = () => 200;
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      requests.push({ headers: request.headers, body });
      const status = handler(request, body);
      if (status !== "hang") response.writeHead(status).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const events = (from: number, to: number, text = "SELECT 1"): AuditRecord[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    id: `e${from + i}`,
    time: new Date().toISOString(),
    type: "action.allowed",
    sessionId: "s",
    user: "u",
    connection: "c",
    effect: "allow",
    data: { text },
  }));

const sink = (options: { batchSize?: number; maxBatchBytes?: number; timeoutMs?: number } = {}) =>
  new WebhookSink({
    store,
    url,
    secret: SECRET,
    cursorPath: join(dir, "webhook.cursor"),
    pollMs: 5,
    retry: { initialMs: 5, maxMs: 20 },
    log: (m) => logs.push(m),
    ...options,
  });

const seqsOf = (body: Buffer) =>
  (JSON.parse(body.toString("utf8")) as { events: { seq: number }[] }).events.map((e) => e.seq);

test("posts signed JSON batches bounded by count and by bytes", async () => {
  await store.appendAudit(events(1, 5));
  await store.appendAudit(events(6, 7, "x".repeat(3000)));
  const webhook = sink({ batchSize: 3, maxBatchBytes: 2000 });
  await webhook.start();
  await webhook.close();
  assert.deepEqual(
    requests.map((r) => seqsOf(r.body)),
    [[1, 2, 3], [4, 5], [6], [7]],
  );
  for (const { headers, body } of requests) {
    assert.equal(headers["content-type"], "application/json");
    const timestamp = headers["x-sluice-timestamp"] as string;
    assert.match(timestamp, /^\d+$/);
    assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 60);
    const signature = headers["x-sluice-signature"] as string;
    assert.ok(verifyWebhook({ secret: SECRET, timestamp, signature, body }), "valid signature");
  }
  assert.equal(requests[0]!.headers["x-sluice-seq"], "1-3");
});

test("a non-2xx answer is retried and the cursor stays until a 2xx", async () => {
  await store.appendAudit(events(1, 2));
  let failures = 3;
  handler = () => (failures-- > 0 ? 503 : 204);
  const webhook = sink();
  await webhook.start();
  for (let i = 0; i < 400 && webhook.exportedThrough < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(webhook.exportedThrough, 2);
  assert.equal(requests.length, 4);
  assert.ok(logs.some((m) => m.includes("HTTP 503")));
  for (const { headers, body } of requests) {
    const timestamp = headers["x-sluice-timestamp"] as string;
    const signature = headers["x-sluice-signature"] as string;
    assert.ok(verifyWebhook({ secret: SECRET, timestamp, signature, body }), "every attempt is signed");
  }
  await webhook.close();
});

test("a receiver that does not answer runs into the timeout and the drain fails", async () => {
  await store.appendAudit(events(1, 1));
  handler = () => "hang";
  const webhook = sink({ timeoutMs: 100 });
  await webhook.start();
  const started = Date.now();
  await assert.rejects(webhook.drain(), /within 100 ms/);
  assert.ok(Date.now() - started < 2000);
  assert.equal(webhook.exportedThrough, 0);
  handler = () => 200;
  await webhook.close();
  assert.equal(webhook.exportedThrough, 1);
});
