import { createHmac, timingSafeEqual } from "node:crypto";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { ChainedAuditRecord, Store } from "../store/index.ts";
import { CursorSink, type RetryBackoff } from "./cursor-sink.ts";
import { toJsonLine } from "./export-line.ts";
import { postWithDeadline } from "./http-post.ts";

export interface WebhookSinkOptions {
  readonly store: Store;
  /** `https://…`, or `http://…` on loopback (checked by the configuration). */
  readonly url: string;
  /** The HMAC-SHA256 key the body is signed with. */
  readonly secret: string;
  /** Where the last delivered seq is kept. */
  readonly cursorPath: string;
  /** Events per request. Default 100. */
  readonly batchSize?: number;
  /** Bytes of events per request (at least one event). Default 1 MiB. */
  readonly maxBatchBytes?: number;
  /** Bound on one request, from connecting to the end of the response. Default 10 s. */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  /** Backoff after a failed request. Default 1 s doubling up to 60 s. */
  readonly retry?: RetryBackoff;
  /** The clock for the timestamp header (tests). */
  readonly now?: () => number;
  readonly log: (message: string) => void;
}

export const WEBHOOK_SIGNATURE_HEADER = "x-sluice-signature";
export const WEBHOOK_TIMESTAMP_HEADER = "x-sluice-timestamp";

/**
 * The signature of one request: `sha256=` and the lowercase hex HMAC-SHA256, keyed with the
 * secret, of the timestamp header's value, a `.`, and the exact body bytes.
 */
export function signWebhook(secret: string, timestamp: string, body: string | Buffer): string {
  const mac = createHmac("sha256", secret);
  mac.update(`${timestamp}.`, "utf8");
  mac.update(body);
  return `sha256=${mac.digest("hex")}`;
}

export interface WebhookVerification {
  readonly secret: string;
  /** The `X-Sluice-Timestamp` header. */
  readonly timestamp: string | undefined;
  /** The `X-Sluice-Signature` header. */
  readonly signature: string | undefined;
  /** The raw body, as received. */
  readonly body: string | Buffer;
  /** Accepted clock difference. Default 300 s. */
  readonly toleranceSeconds?: number;
  readonly nowSeconds?: number;
}

/** What a receiver checks (reference implementation): the signature, in constant time, and the timestamp's age. */
export function verifyWebhook(request: WebhookVerification): boolean {
  const { timestamp, signature } = request;
  if (timestamp === undefined || signature === undefined || !/^\d{1,15}$/.test(timestamp)) return false;
  const now = request.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (request.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(request.secret, timestamp, request.body), "utf8");
  const given = Buffer.from(signature, "utf8");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The response body read to reuse the connection; anything beyond is not needed. */

/**
 * A live webhook sink: POSTs batches of events as JSON, signed with HMAC-SHA256
 * (`X-Sluice-Signature`, over `X-Sluice-Timestamp` and the body). The body is
 * `{"events":[…]}` with one export-format object per event, oldest first.
 *
 * The cursor moves only after a 2xx response; network errors, timeouts and any other status are
 * retried with exponential backoff from the cursor, so every event arrives at least once
 * (receivers deduplicate by `seq` or `hash`). Each attempt is signed afresh with its own timestamp.
 */
export class WebhookSink extends CursorSink {
  readonly name: string;
  private readonly url: URL;
  private readonly agent: HttpAgent;

  constructor(private readonly options: WebhookSinkOptions) {
    super({
      ...options,
      batchSize: options.batchSize ?? 100,
      retry: options.retry ?? { initialMs: 1000, maxMs: 60_000 },
    });
    this.url = new URL(options.url);
    this.name = `webhook ${this.url.origin}${this.url.pathname}`;
    this.agent =
      this.url.protocol === "https:"
        ? new HttpsAgent({ keepAlive: true, maxSockets: 1 })
        : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  }

  protected override async deliver(rows: readonly ChainedAuditRecord[]): Promise<number> {
    const maxBytes = this.options.maxBatchBytes ?? 1024 * 1024;
    const events: string[] = [];
    let bytes = 0;
    for (const row of rows) {
      const event = toJsonLine(row).slice(0, -1);
      const size = Buffer.byteLength(event, "utf8") + 1;
      if (events.length > 0 && bytes + size > maxBytes) break;
      events.push(event);
      bytes += size;
    }
    const body = Buffer.from(`{"events":[${events.join(",")}]}`, "utf8");
    const first = rows[0]!;
    const last = rows[events.length - 1]!;
    const status = await this.post(body, `${first.seq}-${last.seq}`);
    if (status < 200 || status > 299) throw new Error(`the receiver answered HTTP ${status}`);
    return events.length;
  }

  protected override async shutdown(): Promise<void> {
    this.agent.destroy();
  }

  private post(body: Buffer, seqRange: string): Promise<number> {
    const timestamp = String(Math.floor((this.options.now?.() ?? Date.now()) / 1000));
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    return postWithDeadline(
      this.url,
      body,
      {
        "content-type": "application/json",
        "user-agent": "sluice-audit-webhook",
        [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
        [WEBHOOK_SIGNATURE_HEADER]: signWebhook(this.options.secret, timestamp, body),
        "x-sluice-seq": seqRange,
      },
      { timeoutMs, agent: this.agent },
    );
  }
}
