import type { IncomingMessage, ServerResponse } from "node:http";
import { type ApprovalRequest, type ApprovalService, approvalsOf, canReview } from "../approvals/index.ts";
import { type Connection, type Principal, parseDuration, SluiceError } from "../core/index.ts";
import { BodyError, bearerToken, jsonSender, readBody, type Send } from "./http-util.ts";

export interface ApprovalRoutesOptions {
  readonly service: ApprovalService;
  readonly authenticate: (token: string) => Promise<Principal>;
  /**
   * A request without a bearer token: the browser session (the web console's cookie check, CSRF
   * included for votes and grants). Undefined when the request has no session either.
   */
  readonly authenticateRequest?: (
    req: IncomingMessage,
  ) => Promise<Principal | { status: number; error: string } | undefined>;
  readonly connections: ReadonlyMap<string, Connection>;
  readonly log: (message: string) => void;
}

const ID = /^[0-9a-f-]{36}$/;

/**
 * The approvals REST API (bearer token of the caller, or the console's session cookie):
 * - `GET /api/approvals?view=review|mine|all&state=...`: requests to review (default), my own, or
 *   every one I may see;
 * - `GET /api/approvals/<id>`: one request (to its requester and its reviewers);
 * - `POST /api/approvals/<id>/approve` `{reason?}` and `/deny` `{reason}`: a vote;
 * - `POST /api/grants` `{connection, groups, duration, reason}`: ask for groups for a while.
 */
export function createApprovalRoutes(options: ApprovalRoutesOptions) {
  const visible = (request: ApprovalRequest, principal: Principal): boolean =>
    request.requester.user === principal.user ||
    request.requester.onBehalfOf?.user === principal.user ||
    principal.groups.some((g) => request.reviewers.includes(g));

  const route = async (req: IncomingMessage, url: URL, send: Send): Promise<void> => {
    const token = bearerToken(req);
    let principal: Principal;
    if (token === undefined) {
      const session = await options.authenticateRequest?.(req);
      if (session === undefined) return send(401, { error: "a bearer token is required" }, challenge());
      if ("status" in session) return send(session.status, { error: session.error });
      principal = session;
    } else {
      try {
        principal = await options.authenticate(token);
      } catch {
        return send(401, { error: "invalid or expired token" }, challenge());
      }
    }
    const parts = url.pathname.split("/").filter((p) => p !== "");
    if (parts[1] === "grants" && parts.length === 2) {
      if (req.method !== "POST") return send(405, { error: "use POST" });
      return requestGrant(principal, await readBody(req), send);
    }
    if (parts.length === 2) {
      if (req.method !== "GET") return send(405, { error: "use GET" });
      const view = url.searchParams.get("view") ?? "review";
      const state = url.searchParams.get("state") ?? undefined;
      const list =
        view === "mine"
          ? await options.service.list({
              requester: principal.user,
              ...(state ? { state: state as never } : {}),
            })
          : view === "all"
            ? (await options.service.list(state ? { state: state as never } : {})).filter((r) =>
                visible(r, principal),
              )
            : await options.service.list({ reviewableBy: principal });
      return send(200, { approvals: list.map((r) => describe(r, principal)) });
    }
    const id = parts[2] ?? "";
    if (!ID.test(id)) return send(404, { error: "no such approval request" });
    const request = await options.service.get(id);
    if (request === undefined || !visible(request, principal))
      return send(404, { error: "no such approval request" });
    if (parts.length === 3) {
      if (req.method !== "GET") return send(405, { error: "use GET" });
      return send(200, describe(request, principal));
    }
    const action = parts[3];
    if (parts.length !== 4 || (action !== "approve" && action !== "deny"))
      return send(404, { error: "not found" });
    if (req.method !== "POST") return send(405, { error: "use POST" });
    const body = await readBody(req);
    const reason = typeof body.reason === "string" ? body.reason : undefined;
    try {
      const voted = await options.service.vote(id, principal, action, reason);
      return send(200, describe(voted, principal));
    } catch (error) {
      if (error instanceof SluiceError && error.expose)
        return send(409, { error: error.message, code: error.code });
      throw error;
    }
  };

  const requestGrant = async (
    principal: Principal,
    body: Record<string, unknown>,
    send: Send,
  ): Promise<void> => {
    const connection = typeof body.connection === "string" ? body.connection : "";
    if (!options.connections.has(connection))
      return send(400, { error: `no connection named "${connection}"` });
    const groups = Array.isArray(body.groups)
      ? body.groups.filter((g): g is string => typeof g === "string")
      : [];
    const duration = typeof body.duration === "string" ? parseDuration(body.duration) : undefined;
    if (duration === undefined) return send(400, { error: 'duration must look like "30m" or "2h"' });
    try {
      const request = await options.service.requestGrant({
        principal,
        connection,
        groups,
        durationSeconds: duration,
        reason: typeof body.reason === "string" ? body.reason : "",
      });
      return send(201, describe(request, principal));
    } catch (error) {
      if (error instanceof SluiceError && error.expose) return send(400, { error: error.message });
      throw error;
    }
  };

  return {
    handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
      const path = url.pathname;
      if (path !== "/api/grants" && path !== "/api/approvals" && !path.startsWith("/api/approvals/"))
        return false;
      const send = jsonSender(res);
      route(req, url, send).catch((error: unknown) => {
        if (error instanceof BodyError) return send(error.status, { error: error.message });
        options.log(`http: ${path}: ${error instanceof Error ? error.message : String(error)}`);
        send(500, { error: "internal error" });
      });
      return true;
    },
  };
}

function challenge(): Record<string, string> {
  return { "www-authenticate": 'Bearer realm="sluice"' };
}

/** What the API shows of a request: everything reviewers need, never result data. */
export function describe(request: ApprovalRequest, viewer: Principal) {
  return {
    id: request.id,
    kind: request.kind,
    state: request.state,
    requester: request.requester,
    connection: request.connection,
    ...(request.command === undefined ? {} : { command: request.command, command_hash: request.commandHash }),
    ...(request.facts === undefined ? {} : { facts: request.facts }),
    ...(request.groups === undefined
      ? {}
      : { groups: request.groups, duration_seconds: request.durationSeconds }),
    ...(request.reason === undefined ? {} : { reason: request.reason }),
    rule_ids: request.ruleIds,
    reviewers: request.reviewers,
    min_approvals: request.minApprovals,
    approvals: approvalsOf(request),
    votes: request.votes,
    created_at: request.createdAt,
    expires_at: request.expiresAt,
    ...(request.validUntil === undefined ? {} : { valid_until: request.validUntil }),
    can_review: canReview(request, viewer),
  };
}
