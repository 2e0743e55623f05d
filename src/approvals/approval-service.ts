import { randomUUID } from "node:crypto";
import { type AuditLog, gatewayEvent } from "../audit/index.ts";
import { type ApprovalRequirement, ErrorCodes, type Principal, SluiceError } from "../core/index.ts";
import type { Store, Subscription } from "../store/index.ts";
import {
  type ApprovalRequest,
  type ApprovalState,
  approvalsOf,
  commandHash,
  fromStored,
  requesterOf,
  toStored,
  type Vote,
} from "./model.ts";

/** The store channel on which every change of an approval is announced (payload: its id). */
export const APPROVALS_CHANNEL = "sluice.approvals";

/** What reviewers are told; the notifications module delivers it (webhook, Slack). */
export interface ApprovalNotifierPort {
  notify(request: ApprovalRequest, event: "requested" | "approved" | "denied" | "expired"): void;
}

export interface GrantSettings {
  /** Reviewer groups for time-boxed grants. */
  readonly reviewers: readonly string[];
  readonly minApprovals: number;
  /** Longest grant that can be asked for. */
  readonly maxSeconds: number;
  /** How long a grant request waits for reviewers. */
  readonly requestTtlSeconds: number;
}

export interface ApprovalServiceOptions {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly grants: GrantSettings;
  readonly notifier?: ApprovalNotifierPort;
  readonly log: (message: string) => void;
  readonly now?: () => number;
  /** How often waiters re-read their request, in case a notification was missed. */
  readonly pollMs?: number;
}

export interface CommandRequestInput {
  readonly principal: Principal;
  readonly connection: string;
  readonly sessionId: string;
  readonly protocol: string;
  readonly command: string;
  readonly facts: unknown;
  readonly ruleIds: readonly string[];
  readonly approval: ApprovalRequirement;
}

export interface GrantRequestInput {
  readonly principal: Principal;
  readonly connection: string;
  readonly groups: readonly string[];
  readonly durationSeconds: number;
  readonly reason: string;
}

export interface ApprovalListQuery {
  readonly state?: ApprovalState;
  readonly requester?: string;
  /** Only requests this principal may review (pending, in one of their groups, not their own). */
  readonly reviewableBy?: Principal;
  readonly limit?: number;
}

const CAS_ATTEMPTS = 8;

const refused = (message: string): SluiceError =>
  new SluiceError(ErrorCodes.approvalRefused, message, { expose: true });

/**
 * Approval requests and their life: created when policy says `approve`, voted on by reviewers
 * (quorum, no self-approval, any denial ends it, nothing after expiry), waited for by the
 * session that holds the command, and used once. Everything lives in the store, so a restart
 * loses nothing and several gateways sharing a PostgreSQL store see the same requests; changes
 * are announced on the store's notification channel to wake holders on any gateway.
 */
export class ApprovalService {
  readonly #o: ApprovalServiceOptions;
  readonly #now: () => number;
  readonly #waiters = new Map<string, Set<() => void>>();
  #subscription: Subscription | undefined;
  #poll: NodeJS.Timeout | undefined;
  /** Approved grants by `user\0connection`. */
  #grants = new Map<string, { groups: readonly string[]; until: number }[]>();

  constructor(options: ApprovalServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.#subscription = await this.#o.store.subscribe(
      APPROVALS_CHANNEL,
      (id) => {
        this.#wake(id);
        void this.#loadGrants();
      },
      { onReconnect: () => this.#wakeAll() },
    );
    await this.#loadGrants();
    this.#poll = setInterval(() => {
      this.#wakeAll();
      void this.#loadGrants();
    }, this.#o.pollMs ?? 2000);
    this.#poll.unref();
  }

  async close(): Promise<void> {
    if (this.#poll) clearInterval(this.#poll);
    await this.#subscription?.unsubscribe();
    this.#wakeAll();
  }

  /** A held command's request; the policy's rule names reviewers, quorum and time to live. */
  async requestCommand(input: CommandRequestInput): Promise<ApprovalRequest> {
    const now = this.#now();
    const request: ApprovalRequest = {
      id: randomUUID(),
      kind: "command",
      state: "pending",
      requester: requesterOf(input.principal),
      connection: input.connection,
      sessionId: input.sessionId,
      protocol: input.protocol,
      command: input.command,
      commandHash: commandHash(input.command),
      facts: input.facts,
      ruleIds: [...input.ruleIds],
      reviewers: [...input.approval.reviewers],
      minApprovals: Math.max(1, input.approval.minApprovals),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + input.approval.ttlSeconds * 1000).toISOString(),
      votes: [],
      version: 1,
    };
    await this.#o.store.insertApproval(toStored(request));
    await this.#announce(request, "approval.requested", { event: "requested" });
    return request;
  }

  /** Asks to be treated as a member of `groups` on `connection` for a while. */
  async requestGrant(input: GrantRequestInput): Promise<ApprovalRequest> {
    const settings = this.#o.grants;
    if (input.groups.length === 0) throw refused("name at least one group");
    if (!(input.durationSeconds > 0) || input.durationSeconds > settings.maxSeconds) {
      throw refused(`a grant lasts more than 0 seconds and at most ${settings.maxSeconds} seconds`);
    }
    if (input.reason.trim().length === 0) throw refused("give a reason");
    if (settings.reviewers.length === 0)
      throw refused("grants are not enabled on this gateway (no reviewers)");
    const now = this.#now();
    const request: ApprovalRequest = {
      id: randomUUID(),
      kind: "grant",
      state: "pending",
      requester: requesterOf(input.principal),
      connection: input.connection,
      groups: [...new Set(input.groups)],
      durationSeconds: input.durationSeconds,
      reason: input.reason,
      ruleIds: [],
      reviewers: [...settings.reviewers],
      minApprovals: Math.max(1, settings.minApprovals),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + settings.requestTtlSeconds * 1000).toISOString(),
      votes: [],
      version: 1,
    };
    await this.#o.store.insertApproval(toStored(request));
    await this.#announce(request, "approval.requested", { event: "requested" });
    return request;
  }

  /** A request as it stands now (a pending one past its expiry is marked expired first). */
  async get(id: string): Promise<ApprovalRequest | undefined> {
    const row = await this.#o.store.getApproval(id);
    return row === undefined ? undefined : this.#settle(fromStored(row));
  }

  async list(query: ApprovalListQuery = {}): Promise<ApprovalRequest[]> {
    const rows = await this.#o.store.listApprovals({
      ...(query.reviewableBy !== undefined
        ? { state: "pending" }
        : query.state
          ? { state: query.state }
          : {}),
      ...(query.requester === undefined ? {} : { requester: query.requester }),
      limit: query.limit ?? 100,
    });
    const out: ApprovalRequest[] = [];
    for (const row of rows) {
      const request = await this.#settle(fromStored(row));
      if (query.state !== undefined && request.state !== query.state) continue;
      if (query.reviewableBy !== undefined && !canReview(request, query.reviewableBy)) continue;
      out.push(request);
    }
    return out;
  }

  /**
   * One reviewer's vote. Refused (SluiceError, shown to the reviewer) for: an unknown or closed
   * request, an expired one, a reviewer outside the reviewer groups, the requester (or the human
   * an agent requester acts for) approving their own request, and a second vote.
   */
  async vote(
    id: string,
    reviewer: Principal,
    decision: "approve" | "deny",
    reason?: string,
  ): Promise<ApprovalRequest> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      if (current === undefined)
        throw new SluiceError(ErrorCodes.approvalNotFound, `no approval request ${id}`, { expose: true });
      if (current.state === "expired") throw refused(`request ${id} expired; votes after expiry are ignored`);
      if (current.state !== "pending") throw refused(`request ${id} is already ${current.state}`);
      if (isRequester(current, reviewer)) throw refused("nobody may approve or deny their own request");
      if (reviewer.kind !== "human") throw refused("only people review requests");
      if (!reviewer.groups.some((g) => current.reviewers.includes(g))) {
        throw refused(`only members of ${current.reviewers.join(", ")} review this request`);
      }
      if (current.votes.some((v) => v.reviewer === reviewer.user))
        throw refused("you already voted on this request");
      if (decision === "deny" && (reason ?? "").trim().length === 0) throw refused("a denial needs a reason");
      const at = new Date(this.#now()).toISOString();
      const vote: Vote = { reviewer: reviewer.user, decision, at, ...(reason ? { reason } : {}) };
      const votes = [...current.votes, vote];
      let next: ApprovalRequest = { ...current, votes, version: current.version + 1 };
      if (decision === "deny") next = { ...next, state: "denied", resolvedAt: at };
      else if (approvalsOf(next) >= next.minApprovals) {
        const validFor =
          next.kind === "grant"
            ? (next.durationSeconds ?? 0) * 1000
            : Date.parse(next.expiresAt) - Date.parse(next.createdAt);
        next = {
          ...next,
          state: "approved",
          resolvedAt: at,
          validUntil: new Date(this.#now() + validFor).toISOString(),
        };
      }
      if (!(await this.#o.store.updateApproval(toStored(next), current.version))) continue;
      await this.#record("approval.voted", next, {
        reviewer: reviewer.user,
        decision,
        reason: reason ?? null,
      });
      if (next.state !== "pending") {
        await this.#announce(next, `approval.${next.state}`, { event: next.state as "approved" | "denied" });
      } else {
        await this.#o.store.notify(APPROVALS_CHANNEL, next.id);
      }
      return next;
    }
    throw refused(`request ${id} is changing too fast; try again`);
  }

  /**
   * Marks an approved command request used (it runs once). False when it is no longer approved
   * and valid (used meanwhile, expired).
   */
  async use(request: ApprovalRequest): Promise<boolean> {
    let current: ApprovalRequest | undefined = request;
    for (let attempt = 0; attempt < CAS_ATTEMPTS && current !== undefined; attempt++) {
      if (current.state !== "approved" || current.kind !== "command") return false;
      if (Date.parse(current.validUntil ?? current.expiresAt) <= this.#now()) return false;
      const next: ApprovalRequest = { ...current, state: "used", version: current.version + 1 };
      if (await this.#o.store.updateApproval(toStored(next), current.version)) {
        await this.#record("approval.used", next, {});
        await this.#o.store.notify(APPROVALS_CHANNEL, next.id);
        return true;
      }
      current = await this.get(current.id);
    }
    return false;
  }

  /**
   * An approved, unused, still valid request for exactly this command by this requester on this
   * connection (a client that did not wait re-runs the statement), claimed for one run.
   */
  async claimApproved(
    user: string,
    connection: string,
    command: string,
  ): Promise<ApprovalRequest | undefined> {
    const hash = commandHash(command);
    const rows = await this.#o.store.listApprovals({
      kind: "command",
      state: "approved",
      requester: user,
      connection,
      commandHash: hash,
      limit: 20,
    });
    for (const row of rows) {
      const request = fromStored(row);
      if (request.command !== command) continue;
      if (await this.use(request)) return { ...request, state: "used" };
    }
    return undefined;
  }

  /**
   * Resolves with the request once it is no longer pending, or as it is when `timeoutMs` passes
   * or `signal` aborts.
   */
  async waitFor(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ApprovalRequest | undefined> {
    // The hold is real elapsed time, whatever the injected clock says.
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const current = await this.get(id);
      if (current === undefined || current.state !== "pending") return current;
      const left = deadline - performance.now();
      if (left <= 0 || signal?.aborted) return current;
      await new Promise<void>((resolve) => {
        const waiters = this.#waiters.get(id) ?? new Set();
        this.#waiters.set(id, waiters);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(done);
          if (waiters.size === 0) this.#waiters.delete(id);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const untilExpiry = Math.max(10, Date.parse(current.expiresAt) - this.#now() + 10);
        const timer = setTimeout(done, Math.min(left, untilExpiry));
        waiters.add(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** Groups granted to `user` on `connection` right now (from approved, unexpired grants). */
  grantedGroups(user: string, connection: string): readonly string[] {
    const grants = this.#grants.get(`${user}\0${connection}`);
    if (grants === undefined) return [];
    const now = this.#now();
    const groups = new Set<string>();
    for (const g of grants) if (g.until > now) for (const group of g.groups) groups.add(group);
    return [...groups];
  }

  async #loadGrants(): Promise<void> {
    try {
      const rows = await this.#o.store.listApprovals({ kind: "grant", state: "approved", limit: 1000 });
      const grants = new Map<string, { groups: readonly string[]; until: number }[]>();
      for (const row of rows) {
        const request = fromStored(row);
        const until = Date.parse(request.validUntil ?? "");
        if (!(until > this.#now())) continue;
        const key = `${request.requester.user}\0${request.connection}`;
        grants.set(key, [...(grants.get(key) ?? []), { groups: request.groups ?? [], until }]);
      }
      this.#grants = grants;
    } catch (error) {
      this.#o.log(
        `approvals: could not load grants: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** A pending request past its expiry becomes expired (recorded once, by whoever sees it first). */
  async #settle(request: ApprovalRequest): Promise<ApprovalRequest> {
    if (request.state !== "pending" || Date.parse(request.expiresAt) > this.#now()) return request;
    const next: ApprovalRequest = {
      ...request,
      state: "expired",
      resolvedAt: new Date(this.#now()).toISOString(),
      version: request.version + 1,
    };
    if (await this.#o.store.updateApproval(toStored(next), request.version)) {
      await this.#announce(next, "approval.expired", { event: "expired" });
      return next;
    }
    const row = await this.#o.store.getApproval(request.id);
    return row === undefined ? next : fromStored(row);
  }

  async #announce(
    request: ApprovalRequest,
    type: string,
    notice: { event: "requested" | "approved" | "denied" | "expired" },
  ): Promise<void> {
    await this.#record(type, request, {});
    await this.#o.store.notify(APPROVALS_CHANNEL, request.id).catch((error: unknown) => {
      this.#o.log(`approvals: could not announce ${request.id}: ${String(error)}`);
    });
    this.#o.notifier?.notify(request, notice.event);
  }

  async #record(type: string, request: ApprovalRequest, extra: Record<string, unknown>): Promise<void> {
    await this.#o.audit.record(
      gatewayEvent(
        type,
        {
          approval: {
            id: request.id,
            kind: request.kind,
            state: request.state,
            connection: request.connection,
            requester: request.requester,
            ...(request.command === undefined
              ? {}
              : { command: request.command, command_hash: request.commandHash }),
            ...(request.groups === undefined
              ? {}
              : { groups: request.groups, duration_seconds: request.durationSeconds }),
            ...(request.reason === undefined ? {} : { reason: request.reason }),
            rule_ids: request.ruleIds,
            reviewers: request.reviewers,
            min_approvals: request.minApprovals,
            expires_at: request.expiresAt,
            ...(request.validUntil === undefined ? {} : { valid_until: request.validUntil }),
            approvals: approvalsOf(request),
          },
          ...extra,
        },
        typeof extra.reviewer === "string" ? extra.reviewer : request.requester.user,
      ),
    );
  }

  #wake(id: string): void {
    for (const done of [...(this.#waiters.get(id) ?? [])]) done();
  }

  #wakeAll(): void {
    for (const id of [...this.#waiters.keys()]) this.#wake(id);
  }
}

function isRequester(request: ApprovalRequest, reviewer: Principal): boolean {
  const users = new Set([request.requester.user, request.requester.onBehalfOf?.user]);
  return (
    users.has(reviewer.user) || (reviewer.onBehalfOf !== undefined && users.has(reviewer.onBehalfOf.user))
  );
}

/** Whether `reviewer` could vote on `request` now. */
export function canReview(request: ApprovalRequest, reviewer: Principal): boolean {
  return (
    request.state === "pending" &&
    reviewer.kind === "human" &&
    !isRequester(request, reviewer) &&
    reviewer.groups.some((g) => request.reviewers.includes(g)) &&
    !request.votes.some((v) => v.reviewer === reviewer.user)
  );
}
