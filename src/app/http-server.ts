import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type Principal, SluiceError } from "../core/index.ts";
import type { PublicSigningJwk } from "../identity/index.ts";
import type { PolicyReloadResult } from "./policy-reloader.ts";

/** Members of this group may call the admin API. */
export const ADMIN_GROUP = "sluice-admins";

export interface AdminApi {
  /** Verifies a gateway token (throws SluiceError with a message safe to return). */
  readonly authenticate: (token: string) => Promise<Principal>;
  readonly reloadPolicy: (by: string) => Promise<PolicyReloadResult>;
}

/**
 * The gateway's HTTP listener. Today: health, the token verification keys and
 * `POST /admin/policy/reload`; the REST API, web console and MCP endpoint mount here as they arrive.
 */
export function createHttpServer(options: {
  jwks: () => readonly PublicSigningJwk[];
  policyVersion: () => string;
  admin?: AdminApi;
  /** More routes (identity): tried first; true when the route handled the request (and its body). */
  routes?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;
}): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (options.routes?.(req, res, url)) return;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
      res.end(JSON.stringify(body));
    };
    // No endpoint reads a request body.
    req.resume();
    if (url.pathname === "/admin/policy/reload") {
      if (req.method !== "POST") return send(405, { error: "method not allowed" }, { allow: "POST" });
      const admin = options.admin;
      if (admin === undefined) return send(404, { error: "not found" });
      handleReload(admin, req.headers.authorization, send).catch(() =>
        send(500, { error: "internal error" }),
      );
      return;
    }
    if (req.method !== "GET") return send(405, { error: "method not allowed" });
    if (url.pathname === "/healthz")
      return send(200, { status: "ok", policy_version: options.policyVersion() });
    if (url.pathname === "/.well-known/jwks.json") return send(200, { keys: options.jwks() });
    return send(404, { error: "not found" });
  });
}

async function handleReload(
  admin: AdminApi,
  authorization: string | undefined,
  send: (status: number, body: unknown, headers?: Record<string, string>) => void,
): Promise<void> {
  const challenge = { "www-authenticate": 'Bearer realm="sluice"' };
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  if (token === undefined) return send(401, { error: "a gateway token is required" }, challenge);
  let principal: Principal;
  try {
    principal = await admin.authenticate(token);
  } catch (error) {
    const message = error instanceof SluiceError && error.expose ? error.message : "invalid token";
    return send(401, { error: message }, challenge);
  }
  if (!principal.groups.includes(ADMIN_GROUP)) {
    return send(403, { error: `only members of ${ADMIN_GROUP} may reload the policy` });
  }
  const result = await admin.reloadPolicy(principal.user);
  send(result.ok ? 200 : 422, {
    ok: result.ok,
    version: result.version,
    ...(result.gitCommit === undefined ? {} : { git_commit: result.gitCommit }),
    previous_version: result.previousVersion,
    changed: result.changed,
    ...(result.diagnostics === undefined ? {} : { diagnostics: result.diagnostics }),
  });
}
