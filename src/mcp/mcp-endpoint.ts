/**
 * The gateway's MCP endpoint: Streamable HTTP at `/mcp` (the official SDK's transport, stateless:
 * every HTTP request is authenticated on its own), OAuth 2.1 bearer authentication with gateway
 * tokens, and the protected-resource metadata MCP clients discover the authorization server from.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import {
  type AllowProbe,
  type CommandAnalyser,
  type Connection,
  describeConnection,
  type GatePort,
  type Principal,
  SluiceError,
} from "../core/index.ts";
import { LoopbackPostgres, type LoopbackTarget } from "./loopback-postgres.ts";
import {
  type ApprovalLookup,
  DEFAULT_MCP_LIMITS,
  type McpLimits,
  ToolRunner,
  type ToolRunnerDeps,
} from "./tool-runner.ts";

export const MCP_PATH = "/mcp";
export const RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource";

/** The package version, announced in `initialize`. */
const SLUICE_VERSION = ((): string => {
  try {
    return String((createRequire(import.meta.url)("../../package.json") as { version: unknown }).version);
  } catch {
    return "unknown";
  }
})();

/** Batches larger than this are refused whole (the SDK's own bound is larger). */
const MAX_BATCH_MESSAGES = 32;

export interface McpEndpointOptions {
  readonly gate: GatePort;
  /** Verifies a gateway token (throws SluiceError; an exposed message may be shown). */
  readonly authenticate: (token: string) => Promise<Principal>;
  readonly connections: readonly Connection[];
  /** The data path's analysers, by protocol: the tools work on connections of these protocols. */
  readonly analysers: readonly CommandAnalyser[];
  /** The policy's static "could anything like this be allowed" question (tools/list). */
  readonly couldAllow: (probe: AllowProbe) => boolean;
  /** The gateway's own PostgreSQL listener, which runs the SQL. */
  readonly postgres: LoopbackTarget;
  /** The gateway's public origin (`identity.public_url`), for the resource metadata. */
  readonly publicUrl: () => string;
  /** Approval requests; absent while approvals are not enabled on this gateway. */
  readonly approvals?: ApprovalLookup;
  readonly limits?: Partial<McpLimits>;
  readonly log: (message: string) => void;
}

export class McpEndpoint {
  readonly #options: McpEndpointOptions;
  readonly #deps: ToolRunnerDeps;
  readonly #loopback: LoopbackPostgres;
  #closed = false;

  constructor(options: McpEndpointOptions) {
    this.#options = options;
    this.#loopback = new LoopbackPostgres(options.postgres);
    this.#deps = {
      gate: options.gate,
      connections: new Map(
        options.connections.map((connection) => [
          connection.name,
          { connection, info: describeConnection(connection) },
        ]),
      ),
      analysers: new Map(options.analysers.map((a) => [a.protocol, a])),
      couldAllow: options.couldAllow,
      loopback: this.#loopback,
      approvals: options.approvals,
      limits: { ...DEFAULT_MCP_LIMITS, ...options.limits },
    };
  }

  /** Serves `/mcp` and the resource metadata; false for every other path. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const path = url.pathname;
    if (path === RESOURCE_METADATA_PATH || path === `${RESOURCE_METADATA_PATH}${MCP_PATH}`) {
      req.resume();
      if (req.method !== "GET") {
        sendJson(res, 405, { error: "method not allowed" }, { allow: "GET" });
      } else {
        sendJson(res, 200, this.#resourceMetadata(), { "access-control-allow-origin": "*" });
      }
      return true;
    }
    if (path !== MCP_PATH) return false;
    this.#serve(req, res).catch((error: unknown) => {
      this.#options.log(`mcp: request failed: ${String(error)}`);
      if (!res.headersSent) sendRpcError(res, 500, ErrorCode.InternalError, "internal error");
      else res.destroy();
    });
    return true;
  }

  /** Ends SQL sessions still running; later requests are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#loopback.close();
  }

  #resourceMetadata(): Record<string, unknown> {
    const origin = this.#options.publicUrl();
    return {
      resource: `${origin}${MCP_PATH}`,
      authorization_servers: [origin],
      bearer_methods_supported: ["header"],
      resource_name: "Sluice MCP",
      resource_documentation: `${origin}/`,
    };
  }

  #challenge(error?: { code: string; description: string }): Record<string, string> {
    const metadata = `${this.#options.publicUrl()}${RESOURCE_METADATA_PATH}${MCP_PATH}`;
    const parts = [`Bearer realm="sluice"`, `resource_metadata="${metadata}"`];
    if (error !== undefined) {
      parts.push(`error="${error.code}"`, `error_description="${error.description.replaceAll('"', "'")}"`);
    }
    return { "www-authenticate": parts.join(", ") };
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#closed) {
      req.resume();
      return sendRpcError(res, 503, ErrorCode.ConnectionClosed, "the gateway is shutting down");
    }
    // DNS rebinding: browsers send Origin; only the gateway's own origin may call.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== new URL(this.#options.publicUrl()).origin) {
      req.resume();
      return sendRpcError(res, 403, ErrorCode.InvalidRequest, "this origin may not call the MCP endpoint");
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
    if (token === undefined) {
      req.resume();
      return sendRpcError(
        res,
        401,
        ErrorCode.InvalidRequest,
        "a gateway token is required",
        this.#challenge(),
      );
    }
    let principal: Principal;
    try {
      principal = await this.#options.authenticate(token);
    } catch (error) {
      req.resume();
      const description = error instanceof SluiceError && error.expose ? error.message : "invalid token";
      return sendRpcError(
        res,
        401,
        ErrorCode.InvalidRequest,
        description,
        this.#challenge({ code: "invalid_token", description }),
      );
    }
    if (req.method !== "POST") {
      req.resume();
      // Stateless: no server-to-client stream (GET) and no session to delete (DELETE).
      return sendRpcError(res, 405, ErrorCode.ConnectionClosed, "method not allowed", { allow: "POST" });
    }
    const body = await readBody(req, this.#deps.limits.maxRequestBytes);
    if (body === undefined) {
      return sendRpcError(
        res,
        413,
        ErrorCode.InvalidRequest,
        `request body too large (limit ${this.#deps.limits.maxRequestBytes} bytes)`,
      );
    }
    let message: unknown;
    try {
      message = JSON.parse(body.toString("utf8"));
    } catch {
      return sendRpcError(res, 400, ErrorCode.ParseError, "parse error: the body is not JSON");
    }
    const problem = batchProblem(message);
    if (problem !== undefined) return sendRpcError(res, 400, ErrorCode.InvalidRequest, problem);

    const clientAddress = req.socket.remoteAddress ?? "unknown";
    const runner = new ToolRunner(this.#deps, principal, token, clientAddress);
    const server = this.#server(runner);
    // No session id generator: stateless, each request stands alone.
    const transport = new StreamableHTTPServerTransport({
      enableJsonResponse: true,
      maxRequestBodySize: this.#deps.limits.maxRequestBytes,
    });
    res.once("close", () => {
      runner.close();
      void transport.close().catch(() => {});
      void server.close().catch(() => {});
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, message);
  }

  #server(runner: ToolRunner): Server {
    const server = new Server(
      { name: "sluice", title: "Sluice gateway", version: SLUICE_VERSION },
      {
        capabilities: { tools: {} },
        instructions:
          "Tools over the databases you may use through the Sluice gateway. Every call and every SQL statement is checked against policy and recorded; masked values arrive masked.",
      },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: runner.listTools().map((tool) => ({
        name: tool.name,
        title: tool.title,
        description: tool.description,
        inputSchema: tool.inputSchema,
        outputSchema: tool.outputSchema,
        annotations: tool.annotations,
      })),
    }));
    server.setRequestHandler(CallToolRequestSchema, (request) =>
      runner.call(request.params.name, request.params.arguments),
    );
    server.onerror = (error) => this.#options.log(`mcp: ${error.message}`);
    return server;
  }
}

/** A JSON-RPC message or batch the endpoint will not pass on; undefined when acceptable. */
function batchProblem(message: unknown): string | undefined {
  if (!Array.isArray(message)) return undefined;
  if (message.length === 0) return "invalid request: empty batch";
  if (message.length > MAX_BATCH_MESSAGES) {
    return `invalid request: a batch may hold at most ${MAX_BATCH_MESSAGES} messages`;
  }
  const ids = new Set<unknown>();
  for (const item of message) {
    const id = typeof item === "object" && item !== null ? (item as { id?: unknown }).id : undefined;
    if (id === undefined) continue;
    if (ids.has(id)) return "invalid request: duplicate id in batch";
    ids.add(id);
  }
  return undefined;
}

/** The body, or undefined when it exceeds `limit` bytes (the rest is drained, not stored). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

function sendRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { jsonrpc: "2.0", error: { code, message }, id: null }, headers);
}
