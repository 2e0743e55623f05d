import type { IncomingMessage, ServerResponse } from "node:http";
import { isAbsolute, relative } from "node:path";
import { APPROVALS_CHANNEL, type ApprovalRequest } from "../approvals/index.ts";
import { type SignedHeadCheck, storeChainSource, toJsonLine, verifyChain } from "../audit/index.ts";
import {
  type CommandAnalyser,
  type Connection,
  type ConnectionInfo,
  describeConnection,
  type Principal,
  type PrincipalKind,
  parseDuration,
} from "../core/index.ts";
import { explainCommands, explanationJson, type PolicyBundle } from "../policy/index.ts";
import type { RecordingStore, SealSignatureCheck } from "../recording/index.ts";
import type { Store, Subscription } from "../store/index.ts";
import { EventHub } from "./events.ts";
import {
  CSRF_COOKIE,
  csrfCookie,
  csrfRefusal,
  isSafeMethod,
  parseCookies,
  randomToken,
  securityHeaders,
  sendJson,
} from "./security.ts";
import { SessionCatalog, type SessionListing } from "./sessions.ts";
import { StaticFiles } from "./static-files.ts";

const SESSION_COOKIE = "sluice_session";
const MAX_BODY_BYTES = 64 * 1024;
const MAX_LIMIT = 1000;

export interface ConsoleOptions {
  /** The gateway's origin as browsers reach it. */
  readonly publicUrl: () => string;
  /** Where clients reach each protocol's listener (host from the public URL): `{postgres: 15432}`. */
  readonly listenerPorts: () => Readonly<Record<string, number>>;
  /** The configured identity providers (browser login at `/login/<name>`). */
  readonly providers: () => readonly string[];
  /** Verifies a bearer token (gateway token, trusted issuer, agent). */
  readonly authenticateToken: (token: string) => Promise<Principal>;
  /** The login session behind a `sluice_session` cookie value; throws when it does not stand. */
  readonly authenticateSession: (cookie: string) => Promise<Principal>;
  /** Members of these groups see every session, the audit trail and the policy pages. */
  readonly privilegedGroups: readonly string[];
  readonly connections: readonly Connection[];
  /** The policy in force (swapped atomically on reload). */
  readonly policy: { readonly bundle: PolicyBundle };
  /** The policy directory: rule files are shown relative to it. */
  readonly policyDir?: string;
  /** The protocol analysers, for the policy playground. */
  readonly analysers: readonly CommandAnalyser[];
  readonly store: Store;
  readonly getApproval: (id: string) => Promise<ApprovalRequest | undefined>;
  /** Where session recordings are (absent when recording is off). */
  readonly recordings?: RecordingStore;
  readonly verifySeal?: (jws: string) => Promise<SealSignatureCheck>;
  readonly verifySignedHead?: (jws: string) => Promise<SignedHeadCheck>;
  readonly log: (message: string) => void;
}

type Auth =
  | { readonly ok: true; readonly principal: Principal; readonly cookie: string | undefined }
  | { readonly ok: false; readonly status: number; readonly error: string };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface WebConsole {
  /** Handles console pages, files and APIs; false leaves the request to the caller. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  /**
   * The browser session (cookie, CSRF-checked for state changes) of a request without a bearer
   * token, for other cookie-aware APIs (approvals): undefined when there is no session cookie.
   */
  authenticateRequest(
    req: IncomingMessage,
  ): Promise<Principal | { status: number; error: string } | undefined>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The web console (docs/console.md): one HTML shell for every page under `/console/`, plain ES
 * modules and CSS served from memory, JSON APIs under `/console/api/`, and server-sent events
 * for approvals. Every response carries a strict Content-Security-Policy.
 */
export function createConsole(options: ConsoleOptions): WebConsole {
  const files = new StaticFiles();
  const secure = () => options.publicUrl().startsWith("https:");
  const origin = () => new URL(options.publicUrl()).origin;
  const catalog =
    options.recordings === undefined ? undefined : new SessionCatalog(options.recordings, options.verifySeal);
  const hub = new EventHub({ getApproval: options.getApproval, log: options.log });
  let subscription: Subscription | undefined;
  const fileName = (file: string) =>
    options.policyDir !== undefined && isAbsolute(file) ? relative(options.policyDir, file) : file;
  const privileged = (p: Principal) => p.groups.some((g) => options.privilegedGroups.includes(g));

  async function authenticate(req: IncomingMessage): Promise<Auth> {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
    if (bearer !== undefined) {
      try {
        return { ok: true, principal: await options.authenticateToken(bearer), cookie: undefined };
      } catch {
        return { ok: false, status: 401, error: "invalid or expired token" };
      }
    }
    const cookie = parseCookies(req)[SESSION_COOKIE];
    if (cookie === undefined || cookie === "") return { ok: false, status: 401, error: "not logged in" };
    let principal: Principal;
    try {
      principal = await options.authenticateSession(cookie);
    } catch {
      return { ok: false, status: 401, error: "not logged in (the session is over)" };
    }
    if (!isSafeMethod(req.method)) {
      const refusal = csrfRefusal(req, origin());
      if (refusal !== undefined) return { ok: false, status: 403, error: refusal };
    }
    return { ok: true, principal, cookie };
  }

  /** The headers of every console answer, and the CSRF cookie when the browser has none yet. */
  function pageHeaders(req: IncomingMessage): Record<string, string | string[]> {
    const headers: Record<string, string | string[]> = securityHeaders(secure());
    if (parseCookies(req)[CSRF_COOKIE] === undefined)
      headers["set-cookie"] = csrfCookie(randomToken(), secure());
    return headers;
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const send = (status: number, body: unknown, headers: Record<string, string | string[]> = {}) =>
      sendJson(res, secure(), status, body, headers);
    const path = url.pathname.slice("/console/api/".length);
    if (path === "providers") return send(200, { providers: options.providers() });
    const auth = await authenticate(req);
    if (!auth.ok) {
      const challenge = auth.status === 401 ? { "www-authenticate": 'Bearer realm="sluice"' } : {};
      return send(auth.status, { error: auth.error, providers: options.providers() }, challenge);
    }
    const { principal } = auth;
    const parts = path.split("/");
    const method = req.method ?? "GET";
    const only = (allowed: string) => {
      if (method !== allowed && !(allowed === "GET" && method === "HEAD"))
        throw new HttpError(405, `use ${allowed}`);
    };
    const needPrivilege = (what: string) => {
      if (!privileged(principal))
        throw new HttpError(403, `only members of ${options.privilegedGroups.join(" or ")} may see ${what}`);
    };
    switch (parts[0]) {
      case "me":
        only("GET");
        return send(
          200,
          {
            user: principal.user,
            kind: principal.kind,
            groups: principal.groups,
            ...(principal.onBehalfOf === undefined ? {} : { on_behalf_of: principal.onBehalfOf }),
            privileged: privileged(principal),
            privileged_groups: options.privilegedGroups,
            via: auth.cookie === undefined ? "token" : "session",
            public_url: options.publicUrl(),
          },
          auth.cookie !== undefined && parseCookies(req)[CSRF_COOKIE] === undefined
            ? { "set-cookie": csrfCookie(randomToken(), secure()) }
            : {},
        );
      case "events":
        only("GET");
        hub.open(
          res,
          principal,
          securityHeaders(secure()),
          auth.cookie === undefined
            ? undefined
            : () => options.authenticateSession(auth.cookie!).catch(() => undefined),
        );
        return;
      case "connections":
        only("GET");
        return send(200, { connections: connectionsFor(principal) });
      case "sessions":
        return sessions(req, res, url, parts, principal, send, only);
      case "audit":
        needPrivilege("the audit trail");
        return audit(res, url, parts, send, only);
      case "policy":
        needPrivilege("the policy");
        if (parts[1] === "explain" && parts.length === 2) {
          only("POST");
          return send(200, explain(await readJson(req)));
        }
        if (parts.length !== 1) throw new HttpError(404, "not found");
        only("GET");
        return send(200, describeBundle(options.policy.bundle, fileName));
      default:
        throw new HttpError(404, "not found");
    }
  }

  function connectionsFor(principal: Principal) {
    const bundle = options.policy.bundle;
    const ports = options.listenerPorts();
    const host = new URL(options.publicUrl()).hostname.replace(/^\[|\]$/g, "");
    const all = privileged(principal);
    return options.connections.flatMap((connection) => {
      const info = describeConnection(connection);
      const reachable = bundle.couldAllow({
        kind: "session",
        protocol: info.protocol,
        principal,
        connection: info,
        facts: {},
      });
      if (!reachable && !all) return [];
      const masks = bundle.possibleMasks({ protocol: info.protocol, principal, connection: info });
      return [
        {
          name: info.name,
          protocol: info.protocol,
          labels: info.labels,
          reachable,
          masks: masks.map((m) => ({
            rule_id: m.ruleId,
            columns: m.columns,
            detectors: m.detectors,
            strategy: m.strategy,
          })),
          commands: connectCommands(info, host, ports[info.protocol], principal.user, options.publicUrl()),
        },
      ];
    });
  }

  async function sessions(
    _req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    parts: string[],
    principal: Principal,
    send: (status: number, body: unknown, headers?: Record<string, string | string[]>) => void,
    only: (method: string) => void,
  ): Promise<void> {
    only("GET");
    if (catalog === undefined) {
      if (parts.length === 1) return send(200, { sessions: [], recording: false });
      throw new HttpError(404, "session recording is off");
    }
    const all = privileged(principal);
    const mine = (s: SessionListing) => s.user === principal.user || s.onBehalfOf === principal.user;
    if (parts.length === 1) {
      const q = url.searchParams;
      const user = q.get("user") || undefined;
      const connection = q.get("connection") || undefined;
      const status = q.get("status") || undefined;
      const since = when(q.get("since"), "since");
      const until = when(q.get("until"), "until");
      const list = await catalog.list({
        ...(all ? (user === undefined ? {} : { user }) : { user: principal.user }),
        ...(connection === undefined ? {} : { connection }),
        ...(status === undefined ? {} : { status }),
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
        limit: limitOf(q.get("limit"), 200),
      });
      return send(200, { sessions: list.filter((s) => all || mine(s)), recording: true });
    }
    const id = parts[1] ?? "";
    const found = await catalog.get(id);
    // Someone else's session is "not found", like one that does not exist.
    if (found === undefined || !(all || mine(found.listing))) throw new HttpError(404, "no such session");
    if (parts.length === 2) return send(200, { session: found.listing, timeline: found.timeline });
    if (parts.length === 3 && parts[2] === "asciicast") {
      const cast = (await catalog.asciicast(id)) ?? "";
      res.writeHead(200, {
        ...securityHeaders(secure()),
        "content-type": "application/x-asciicast; charset=utf-8",
        "content-disposition": `attachment; filename="sluice-${id}.cast"`,
        "cache-control": "no-store",
      });
      res.end(cast);
      return;
    }
    throw new HttpError(404, "not found");
  }

  async function audit(
    res: ServerResponse,
    url: URL,
    parts: string[],
    send: (status: number, body: unknown) => void,
    only: (method: string) => void,
  ): Promise<void> {
    only("GET");
    const q = url.searchParams;
    if (parts.length === 1) {
      const since = when(q.get("since"), "since");
      const text = (name: string) => q.get(name) || undefined;
      const user = text("user");
      const connection = text("connection");
      const effect = text("effect");
      const type = text("type");
      const events = await options.store.searchAudit({
        ...(user === undefined ? {} : { user }),
        ...(connection === undefined ? {} : { connection }),
        ...(effect === undefined ? {} : { effect }),
        ...(type === undefined ? {} : { type }),
        ...(since === undefined ? {} : { since }),
        limit: limitOf(q.get("limit"), 100),
      });
      return send(200, {
        events: events.map((e) => ({
          seq: e.seq,
          id: e.id,
          time: e.time,
          type: e.type,
          session_id: e.sessionId,
          user: e.user,
          connection: e.connection,
          effect: e.effect,
          data: e.data,
        })),
      });
    }
    if (parts[1] === "verify" && parts.length === 2) {
      const report = await verifyChain(
        storeChainSource(options.store),
        options.verifySignedHead ? { verifySignedHead: options.verifySignedHead } : {},
      );
      return send(200, { report, checked_at: new Date().toISOString() });
    }
    if (parts[1] === "export" && parts.length === 2) {
      const since = when(q.get("since"), "since");
      res.writeHead(200, {
        ...securityHeaders(secure()),
        "content-type": "application/x-ndjson; charset=utf-8",
        "content-disposition": `attachment; filename="sluice-audit-${new Date().toISOString().slice(0, 10)}.jsonl"`,
        "cache-control": "no-store",
      });
      let afterSeq = 0;
      for (;;) {
        const page = await options.store.readAuditChain({
          afterSeq,
          limit: 1000,
          ...(since === undefined ? {} : { since }),
        });
        if (page.length === 0) break;
        if (!res.write(page.map(toJsonLine).join(""))) {
          await new Promise<void>((resolve) => res.once("drain", resolve));
        }
        afterSeq = page.at(-1)!.seq;
      }
      res.end();
      return;
    }
    throw new HttpError(404, "not found");
  }

  function explain(body: Record<string, unknown>) {
    const str = (name: string) => (typeof body[name] === "string" ? (body[name] as string).trim() : "");
    const user = str("user");
    if (user === "") throw new HttpError(400, "user is required");
    const kind = str("kind") || "human";
    if (!["human", "service", "agent"].includes(kind))
      throw new HttpError(400, "kind: human, service or agent");
    const groups = listOf(body.groups);
    const name = str("connection");
    const configured = options.connections.find((c) => c.name === name);
    if (configured === undefined) throw new HttpError(400, `no connection named "${name}"`);
    const connection: ConnectionInfo = describeConnection(configured);
    const command = str("command");
    if (command === "") throw new HttpError(400, "command is required");
    const analyser = options.analysers.find((a) => a.protocol === connection.protocol);
    if (analyser === undefined) throw new HttpError(400, `no analyser for protocol ${connection.protocol}`);
    const commands = analyser.analyse(command);
    if (commands.length === 0) throw new HttpError(400, "the command has no statements");
    const onBehalfOf = str("on_behalf_of");
    const identity = {
      user,
      groups,
      kind: kind as PrincipalKind,
      ...(onBehalfOf === ""
        ? {}
        : { onBehalfOf: { user: onBehalfOf, groups: listOf(body.on_behalf_of_groups) } }),
    };
    const bundle = options.policy.bundle;
    const { statements, outcome } = explainCommands(
      bundle,
      identity,
      connection,
      commands,
      "console-playground",
    );
    return {
      policy: {
        version: bundle.version,
        ...(bundle.gitCommit === undefined ? {} : { git_commit: bundle.gitCommit }),
      },
      ...explanationJson(statements, outcome, fileName),
    };
  }

  function serveShell(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...pageHeaders(req),
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
    });
    res.end(req.method === "HEAD" ? undefined : files.shell);
  }

  return {
    handle(req, res, url) {
      const path = url.pathname;
      const redirect = (location: string) => {
        req.resume();
        res.writeHead(302, { ...securityHeaders(secure()), location, "cache-control": "no-store" });
        res.end();
        return true;
      };
      if (path === "/" || path === "/console") {
        if (!isSafeMethod(req.method)) return false;
        return redirect("/console/");
      }
      // The review link psql's NOTICE and the notifications name.
      const review = /^\/approvals\/([0-9a-f-]{36})$/.exec(path);
      if (review !== null && isSafeMethod(req.method)) return redirect(`/console/approvals/${review[1]}`);
      if (!path.startsWith("/console/")) return false;
      if (path.startsWith("/console/api/")) {
        api(req, res, url).catch((error: unknown) => {
          req.resume();
          if (error instanceof HttpError)
            return sendJson(res, secure(), error.status, { error: error.message });
          options.log(`console: ${path}: ${error instanceof Error ? error.message : String(error)}`);
          if (res.headersSent) res.end();
          else sendJson(res, secure(), 500, { error: "internal error" });
        });
        return true;
      }
      req.resume();
      if (!isSafeMethod(req.method)) {
        sendJson(res, secure(), 405, { error: "method not allowed" }, { allow: "GET, HEAD" });
        return true;
      }
      if (files.serve(req, res, path, securityHeaders(secure()))) return true;
      if (path.startsWith("/console/static/") || path.startsWith("/console/vendor/")) {
        sendJson(res, secure(), 404, { error: "not found" });
        return true;
      }
      serveShell(req, res);
      return true;
    },
    async authenticateRequest(req) {
      if (parseCookies(req)[SESSION_COOKIE] === undefined) return undefined;
      const auth = await authenticate(req);
      return auth.ok ? auth.principal : { status: auth.status, error: auth.error };
    },
    async start() {
      subscription = await options.store.subscribe(APPROVALS_CHANNEL, (id) => void hub.approvalChanged(id), {
        onReconnect: () => hub.resync(),
      });
    },
    async close() {
      hub.close();
      await subscription?.unsubscribe();
    },
  };
}

/** How to connect, ready to paste. */
function connectCommands(
  connection: ConnectionInfo,
  host: string,
  port: number | undefined,
  user: string,
  publicUrl: string,
): { label: string; command: string }[] {
  const login = { label: "Log in once (device flow)", command: `npx sluice login --gateway ${publicUrl}` };
  if (port === undefined) return [login];
  switch (connection.protocol) {
    case "postgres":
      return [
        login,
        {
          label: "psql",
          command: `PGPASSWORD="$(npx sluice token get)" psql "host=${host} port=${port} dbname=${connection.name} user=${user} sslmode=require"`,
        },
      ];
    case "kubernetes":
      return [
        login,
        {
          label: "kubectl",
          command: `kubectl --server=https://${host}:${port} --token="$(npx sluice token get)" --context=${connection.name} get pods`,
        },
      ];
    case "ssh":
      return [login, { label: "ssh", command: `ssh -p ${port} ${user}+${connection.name}@${host}` }];
    default:
      return [login];
  }
}

function describeBundle(bundle: PolicyBundle, fileName: (file: string) => string) {
  const files = new Map<string, number>();
  for (const rule of bundle.rules) files.set(fileName(rule.file), (files.get(fileName(rule.file)) ?? 0) + 1);
  return {
    version: bundle.version,
    ...(bundle.gitCommit === undefined ? {} : { git_commit: bundle.gitCommit }),
    time_zone: bundle.timeZone,
    files: [...files].map(([file, rules]) => ({ file, rules })),
    rules: bundle.rules.map((r) => ({ ...r, file: fileName(r.file) })),
  };
}

function listOf(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === "string" ? value.split(/[\s,]+/) : [];
  return items.filter((g): g is string => typeof g === "string" && g !== "");
}

/** A duration back from now (`7d`) or an ISO timestamp. */
function when(value: string | null, name: string): Date | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = parseDuration(value.trim());
  if (seconds !== undefined) return new Date(Date.now() - seconds * 1000);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new HttpError(400, `${name}: a duration like 7d or a timestamp`);
  return date;
}

function limitOf(value: string | null, fallback: number): number {
  if (value === null || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new HttpError(400, "limit must be a positive whole number");
  return Math.min(n, MAX_LIMIT);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "request body too large");
    chunks.push(chunk);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // reported below
  }
  throw new HttpError(400, "expected a JSON object");
}
