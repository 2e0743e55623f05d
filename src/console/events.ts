import type { ServerResponse } from "node:http";
import type { ApprovalRequest } from "../approvals/index.ts";
import type { Principal } from "../core/index.ts";

interface Client {
  readonly res: ServerResponse;
  principal: Principal;
  /** Session-cookie clients are checked again now and then (a revoked session ends the stream). */
  readonly recheck: (() => Promise<Principal | undefined>) | undefined;
}

export interface EventHubOptions {
  readonly getApproval: (id: string) => Promise<ApprovalRequest | undefined>;
  readonly log: (message: string) => void;
  /** Comment lines keep proxies from closing idle streams; sessions are checked again at this pace. */
  readonly heartbeatMs?: number;
}

/** Who may see a request: its requester (or the human an agent acts for) and its reviewers. */
export function maySeeApproval(request: ApprovalRequest, principal: Principal): boolean {
  return (
    request.requester.user === principal.user ||
    request.requester.onBehalfOf?.user === principal.user ||
    principal.groups.some((g) => request.reviewers.includes(g))
  );
}

/**
 * Server-sent events for open console pages. The console subscribes once to the store's approvals
 * channel (every gateway sharing the store announces there); each change is told only to the
 * pages whose user may see that request, as `event: approval` with its id and state. Pages then
 * read the request through the approvals API, which checks access again.
 */
export class EventHub {
  readonly #clients = new Set<Client>();
  readonly #options: EventHubOptions;
  readonly #timer: NodeJS.Timeout;

  constructor(options: EventHubOptions) {
    this.#options = options;
    this.#timer = setInterval(() => void this.#heartbeat(), options.heartbeatMs ?? 20_000);
    this.#timer.unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Starts an event stream on `res` for `principal`. */
  open(
    res: ServerResponse,
    principal: Principal,
    headers: Record<string, string>,
    recheck?: () => Promise<Principal | undefined>,
  ): void {
    res.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    res.write(`retry: 2000\nevent: ready\ndata: ${JSON.stringify({ user: principal.user })}\n\n`);
    const client: Client = { res, principal, recheck };
    this.#clients.add(client);
    res.on("close", () => this.#clients.delete(client));
  }

  /** A notification on the approvals channel: the payload is the request's id. */
  async approvalChanged(id: string): Promise<void> {
    if (this.#clients.size === 0) return;
    let request: ApprovalRequest | undefined;
    try {
      request = await this.#options.getApproval(id);
    } catch (error) {
      this.#options.log(`console: reading approval ${id}: ${String(error)}`);
      return;
    }
    if (request === undefined) return;
    const data = JSON.stringify({ id: request.id, state: request.state, kind: request.kind });
    for (const client of this.#clients) {
      if (maySeeApproval(request, client.principal)) client.res.write(`event: approval\ndata: ${data}\n\n`);
    }
  }

  /** The store's listening connection came back: pages read everything again. */
  resync(): void {
    for (const client of this.#clients) client.res.write("event: resync\ndata: {}\n\n");
  }

  async #heartbeat(): Promise<void> {
    for (const client of [...this.#clients]) {
      if (client.recheck !== undefined) {
        const principal = await client.recheck().catch(() => undefined);
        if (principal === undefined) {
          this.#clients.delete(client);
          client.res.end("event: logout\ndata: {}\n\n");
          continue;
        }
        client.principal = principal;
      }
      client.res.write(": keep-alive\n\n");
    }
  }

  close(): void {
    clearInterval(this.#timer);
    for (const client of this.#clients) client.res.end();
    this.#clients.clear();
  }
}
