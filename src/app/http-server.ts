import { createServer, type Server } from "node:http";
import type { PublicSigningJwk } from "../identity/index.ts";

/**
 * The gateway's HTTP listener. Today: health and the token verification keys; the REST API,
 * web console and MCP endpoint mount here as they arrive.
 */
export function createHttpServer(options: {
  jwks: () => readonly PublicSigningJwk[];
  policyVersion: () => string;
}): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "GET") return send(405, { error: "method not allowed" });
    if (url.pathname === "/healthz")
      return send(200, { status: "ok", policy_version: options.policyVersion() });
    if (url.pathname === "/.well-known/jwks.json") return send(200, { keys: options.jwks() });
    return send(404, { error: "not found" });
  });
}
