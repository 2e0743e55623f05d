import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { isIP } from "node:net";
import {
  postWithDeadline,
  signWebhook,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from "../audit/index.ts";
import type { ApprovalRequest } from "./model.ts";

/** What a notification says about one approval request (docs/approvals.md#notifications). */
export interface ApprovalNotice {
  readonly id: string;
  readonly kind: "command" | "grant";
  readonly requester: string;
  readonly onBehalfOf?: string;
  readonly connection: string;
  readonly command?: string;
  readonly groups?: readonly string[];
  readonly reason?: string;
  readonly ruleIds: readonly string[];
  readonly reviewers: readonly string[];
  readonly minApprovals: number;
  readonly expiresAt: string;
  readonly state: string;
  readonly event: "requested" | "approved" | "denied" | "expired";
  /** Link to the request in the console, e.g. https://gw/approvals/<id>. */
  readonly consoleUrl: string;
}

/**
 * The notice for a request (a convenience for the approval service's notifier port): `consoleBase`
 * is the console's origin, e.g. https://gw; the link is `<consoleBase>/approvals/<id>`.
 */
export function approvalNotice(
  request: ApprovalRequest,
  event: ApprovalNotice["event"],
  consoleBase: string,
): ApprovalNotice {
  const requester = request.requester;
  return {
    id: request.id,
    kind: request.kind,
    requester: requester.user,
    ...(requester.onBehalfOf === undefined ? {} : { onBehalfOf: requester.onBehalfOf.user }),
    connection: request.connection,
    ...(request.command === undefined ? {} : { command: request.command }),
    ...(request.groups === undefined ? {} : { groups: request.groups }),
    ...(request.reason === undefined ? {} : { reason: request.reason }),
    ruleIds: request.ruleIds,
    reviewers: request.reviewers,
    minApprovals: request.minApprovals,
    expiresAt: request.expiresAt,
    state: request.state,
    event,
    consoleUrl: new URL(`approvals/${encodeURIComponent(request.id)}`, `${consoleBase.replace(/\/+$/, "")}/`)
      .href,
  };
}

/** Where notices go: a signed generic webhook, or a Slack-compatible incoming webhook. */
export type NotifierTarget =
  | { readonly type: "webhook"; readonly url: string; readonly secret: string }
  | { readonly type: "slack"; readonly url: string };

export interface ApprovalNotifierOptions {
  readonly log: (message: string) => void;
  /** Bound on one request, from connecting to the end of the response. Default 10 s. */
  readonly timeoutMs?: number;
  /** Attempts after the first one failed. Default 3 (backoff 0.5 s, 1 s, 2 s, … up to 30 s). */
  readonly retries?: number;
}

export const APPROVAL_EVENT_HEADER = "x-sluice-event";
export const APPROVAL_DELIVERY_HEADER = "x-sluice-delivery";

const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** The response body read to reuse the connection; anything beyond is not needed. */
/** Slack refuses section texts above 3000 characters; the command gets what the rest leaves. */
const MAX_SECTION_CHARS = 3000;

const TITLES: Record<ApprovalNotice["event"], string> = {
  requested: "Approval requested",
  approved: "Approval granted",
  denied: "Approval denied",
  expired: "Approval request expired",
};

interface Delivery {
  readonly name: string;
  readonly url: URL;
  readonly agent: HttpAgent;
  readonly body: (notice: ApprovalNotice) => Buffer;
  readonly headers: (notice: ApprovalNotice, body: Buffer) => Record<string, string>;
}

/**
 * Sends approval notices to webhooks and Slack-compatible incoming webhooks. `notify` returns at
 * once: each target gets its own delivery in the background, retried with exponential backoff on
 * network errors, timeouts, 408, 429 and 5xx answers (at least once: receivers deduplicate by the
 * `X-Sluice-Delivery` header, the same for every attempt). Failures are logged, never thrown.
 */
export class ApprovalNotifier {
  readonly #targets: readonly Delivery[];
  readonly #log: (message: string) => void;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #inFlight = new Set<Promise<void>>();
  /** Wakes deliveries waiting to retry when the notifier closes. */
  readonly #wakers = new Set<() => void>();
  #closed = false;

  /** Throws on an invalid target (not https://, or http:// off loopback): a configuration error. */
  constructor(targets: readonly NotifierTarget[], options: ApprovalNotifierOptions) {
    this.#log = options.log;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = Math.max(0, Math.floor(options.retries ?? 3));
    this.#targets = targets.map((target) => deliveryOf(target));
  }

  /** Sends the notice to every target in the background. Never throws. */
  notify(notice: ApprovalNotice): void {
    if (this.#closed) {
      this.#log(`approval ${safeText(notice.id)}: notifier closed, ${notice.event} notice not sent`);
      return;
    }
    for (const target of this.#targets) {
      const delivery = this.#deliver(target, notice).catch((error: unknown) => {
        this.#log(`approval notification to ${target.name}: ${describe(error)}`);
      });
      this.#inFlight.add(delivery);
      void delivery.finally(() => this.#inFlight.delete(delivery));
    }
  }

  /**
   * Waits for the deliveries in flight. Requests under way finish (each within the timeout);
   * deliveries waiting to retry give up at once and are logged as not delivered.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#wakers) wake();
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    for (const target of this.#targets) target.agent.destroy();
  }

  async #deliver(target: Delivery, notice: ApprovalNotice): Promise<void> {
    const body = target.body(notice);
    const what = `approval ${safeText(notice.id)} ${notice.event}`;
    for (let attempt = 0; ; attempt++) {
      let problem: string;
      let retryable: boolean;
      try {
        const status = await this.#post(target, body, target.headers(notice, body));
        if (status >= 200 && status <= 299) return;
        problem = `the receiver answered HTTP ${status}`;
        retryable = status === 408 || status === 429 || status >= 500;
      } catch (error) {
        problem = describe(error);
        retryable = true;
      }
      if (!retryable || attempt >= this.#retries) {
        this.#log(`${what}: notification to ${target.name} failed after ${attempt + 1} attempts: ${problem}`);
        return;
      }
      if (this.#closed) {
        this.#log(`${what}: notification to ${target.name} not delivered (${problem}); the notifier closed`);
        return;
      }
      const delay = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** attempt);
      this.#log(`${what}: notification to ${target.name}: ${problem}; retrying in ${delay} ms`);
      await this.#sleep(delay);
      if (this.#closed) {
        this.#log(`${what}: notification to ${target.name} not delivered (${problem}); the notifier closed`);
        return;
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  #post(target: Delivery, body: Buffer, headers: Record<string, string>): Promise<number> {
    return postWithDeadline(target.url, body, headers, { timeoutMs: this.#timeoutMs, agent: target.agent });
  }
}

function deliveryOf(target: NotifierTarget): Delivery {
  const url = checkUrl(target.url, target.type);
  const agent =
    url.protocol === "https:"
      ? new HttpsAgent({ keepAlive: true, maxSockets: 2 })
      : new HttpAgent({ keepAlive: true, maxSockets: 2 });
  if (target.type === "webhook") {
    if (target.secret === "") throw new Error("approval webhook: the secret is empty");
    const secret = target.secret;
    return {
      name: `webhook ${url.origin}${url.pathname}`,
      url,
      agent,
      body: (notice) => Buffer.from(JSON.stringify(webhookPayload(notice)), "utf8"),
      headers: (notice, body) => {
        const timestamp = String(Math.floor(Date.now() / 1000));
        return {
          "content-type": "application/json",
          "user-agent": "sluice-approval-notifier",
          [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
          [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
          [APPROVAL_EVENT_HEADER]: `approval.${notice.event}`,
          [APPROVAL_DELIVERY_HEADER]: `${notice.id}.${notice.event}`,
        };
      },
    };
  }
  return {
    // The path of a Slack webhook URL is its secret: only the origin is ever shown.
    name: `slack ${url.origin}`,
    url,
    agent,
    body: (notice) => Buffer.from(JSON.stringify(slackPayload(notice)), "utf8"),
    headers: () => ({
      "content-type": "application/json; charset=utf-8",
      "user-agent": "sluice-approval-notifier",
    }),
  };
}

/** https://, or http:// on loopback only; never with user:password in it. */
function checkUrl(text: string, type: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`approval ${type} target: not a URL`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new Error(`approval ${type} target: the URL must not contain a user or password`);
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && isLoopback(url.hostname)) return url;
  throw new Error(
    `approval ${type} target ${url.origin}: expected https:// (plain http:// only on loopback)`,
  );
}

function isLoopback(hostname: string): boolean {
  const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

/**
 * The generic webhook's body: the notice's own fields (only those), under a type tag.
 * Signed like the audit webhook: `X-Sluice-Signature` over `X-Sluice-Timestamp`, a dot, the body.
 */
export function webhookPayload(notice: ApprovalNotice): Record<string, unknown> {
  return {
    type: `approval.${notice.event}`,
    id: notice.id,
    kind: notice.kind,
    event: notice.event,
    state: notice.state,
    requester: notice.requester,
    ...(notice.onBehalfOf === undefined ? {} : { onBehalfOf: notice.onBehalfOf }),
    connection: notice.connection,
    ...(notice.command === undefined ? {} : { command: notice.command }),
    ...(notice.groups === undefined ? {} : { groups: [...notice.groups] }),
    ...(notice.reason === undefined ? {} : { reason: notice.reason }),
    ruleIds: [...notice.ruleIds],
    reviewers: [...notice.reviewers],
    minApprovals: notice.minApprovals,
    expiresAt: notice.expiresAt,
    consoleUrl: notice.consoleUrl,
  };
}

/**
 * Slack's three control characters as entities: user text can then form no link, mention
 * (`<!channel>`, `<@U…>`) or formatting token of its own.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * User text for Slack: escaped, every `@` followed by a zero-width space (no `@channel`, `@here`
 * or `@user` mention, whatever the workspace's settings), and every backtick followed by one so it
 * cannot close the code span or block it is shown in.
 */
function slackUserText(text: string): string {
  return escapeSlack(text).replace(/@/g, "@\u200b").replace(/`/g, "`\u200b");
}

/** User text as inline code (no formatting, links or mentions inside). */
function code(text: string): string {
  const inner = slackUserText(text.replace(/[\r\n]+/g, " "));
  return `\`${inner === "" ? " " : inner}\``;
}

/** The incoming-webhook payload: a fallback `text` and Block Kit `blocks`. */
export function slackPayload(notice: ApprovalNotice): Record<string, unknown> {
  const title = TITLES[notice.event];
  const what = notice.kind === "command" ? "a command" : "a grant";
  const text = `${title}: ${code(notice.requester)} asks for ${what} on ${code(notice.connection)}`;
  const lines = [
    `*${title}*`,
    `*Requester:* ${code(notice.requester)}${notice.onBehalfOf === undefined ? "" : ` on behalf of ${code(notice.onBehalfOf)}`}`,
    `*Connection:* ${code(notice.connection)}`,
  ];
  if (notice.groups !== undefined && notice.groups.length > 0) {
    lines.push(`*Groups:* ${notice.groups.map(code).join(", ")}`);
  }
  if (notice.reason !== undefined && notice.reason !== "") lines.push(`*Reason:* ${code(notice.reason)}`);
  if (notice.command !== undefined) {
    const head = `${lines.join("\n")}\n*Command:*\n\`\`\`\n`;
    const room = MAX_SECTION_CHARS - head.length - 200;
    lines.push(`*Command:*\n${codeBlock(notice.command, room)}`);
  }
  const context = [
    `Rules: ${notice.ruleIds.map(code).join(", ") || "-"}`,
    `Reviewers: ${notice.reviewers.map(code).join(", ") || "-"} (${notice.minApprovals} needed)`,
    `State: ${code(notice.state)}`,
    `Expires: ${code(notice.expiresAt)}`,
  ].join("  ·  ");
  const button = (label: string, action: string | undefined, style?: "primary" | "danger") => {
    const url = new URL(notice.consoleUrl);
    if (action !== undefined) url.searchParams.set("action", action);
    return {
      type: "button",
      text: { type: "plain_text", text: label },
      url: url.href,
      action_id: action ?? "open",
      ...(style === undefined ? {} : { style }),
    };
  };
  const actions =
    notice.event === "requested"
      ? [button("Approve", "approve", "primary"), button("Deny", "deny", "danger")]
      : [button("Open in console", undefined)];
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: lines.join("\n") } },
      { type: "context", elements: [{ type: "mrkdwn", text: context }] },
      { type: "actions", elements: actions },
    ],
    unfurl_links: false,
    unfurl_media: false,
  };
}

/** The exact command in a code block, escaped; cut (and said so) when it would not fit `room`. */
function codeBlock(command: string, room: number): string {
  let inner = slackUserText(command);
  if (inner.length > room) {
    // Never cut inside an entity (`&amp;`) or between a character and its zero-width space.
    let cut = Math.max(0, room);
    const amp = inner.lastIndexOf("&", cut);
    if (amp !== -1 && inner.indexOf(";", amp) >= cut) cut = amp;
    if (inner[cut] === "\u200b") cut--;
    const previous = inner.charCodeAt(cut - 1);
    if (previous >= 0xd800 && previous <= 0xdbff) cut--;
    inner = `${inner.slice(0, cut)}\n… (cut: ${command.length} characters; the console shows it whole)`;
  }
  return `\`\`\`\n${inner}\n\`\`\``;
}

function safeText(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
