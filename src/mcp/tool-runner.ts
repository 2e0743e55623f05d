/**
 * The tools, for one authenticated caller and one HTTP request: which tools the caller's policy
 * could ever allow (`tools/list`), and each call judged by the gate (policy + audit, written ahead)
 * before it does anything. SQL then runs through the gateway's own PostgreSQL listener, where
 * every statement is judged, masked and recorded again like any psql statement.
 */
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import {
  type Action,
  type AllowProbe,
  type AnalysedCommand,
  type CommandAnalyser,
  type Connection,
  type ConnectionInfo,
  type Decision,
  denial,
  describeConnection,
  type FactValue,
  type GatePort,
  type Principal,
  type SessionContext,
} from "../core/index.ts";
import { QueryFailed, type StatementResult } from "./capped-query.ts";
import { catalogSql, describeCatalog } from "./catalog.ts";
import { ApprovalHeld, type LoopbackPostgres } from "./loopback-postgres.ts";
import { MCP_SERVER_NAME, TOOLS, type ToolArguments, type ToolName, type ToolSpec } from "./tools.ts";

/** What a tool call returns (the MCP `CallToolResult` shape). */
export interface ToolResult {
  [key: string]: unknown;
  content: { type: "text"; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** Looks up approval requests; absent until approvals exist (then every lookup says so). */
export interface ApprovalLookup {
  status(requestId: string, principal: Principal): Promise<{ status: string; message: string } | undefined>;
}

export interface McpLimits {
  /** Largest request body (a JSON-RPC message or batch). */
  readonly maxRequestBytes: number;
  /** Largest `arguments` of one tool call, as JSON. */
  readonly maxArgumentBytes: number;
  /** Rows per result when the caller asks for none (`max_rows`), and the most it may ask for. */
  readonly defaultRows: number;
  readonly maxRows: number;
  /** Characters of cell text one call returns at most. */
  readonly maxResultChars: number;
  /** A query's time limit, connection included. */
  readonly queryTimeoutMs: number;
}

export const DEFAULT_MCP_LIMITS: McpLimits = {
  maxRequestBytes: 1024 * 1024,
  maxArgumentBytes: 256 * 1024,
  defaultRows: 200,
  maxRows: 5000,
  maxResultChars: 512 * 1024,
  queryTimeoutMs: 60_000,
};

/**
 * The connection MCP actions that name no connection are judged against (`list_connections`,
 * `approval_status`). `@` is not allowed in configured connection names, so it cannot collide.
 */
export const MCP_ENDPOINT_CONNECTION: Connection = Object.freeze({
  name: "@mcp",
  protocol: "mcp",
  labels: Object.freeze({}),
  target: Object.freeze({ host: "", port: 0 }),
});

export interface ToolRunnerDeps {
  readonly gate: GatePort;
  readonly connections: ReadonlyMap<string, { connection: Connection; info: ConnectionInfo }>;
  readonly analysers: ReadonlyMap<string, CommandAnalyser>;
  readonly couldAllow: (probe: AllowProbe) => boolean;
  readonly loopback: LoopbackPostgres;
  readonly approvals: ApprovalLookup | undefined;
  readonly limits: McpLimits;
}

const MCP_ENDPOINT_INFO = describeConnection(MCP_ENDPOINT_CONNECTION);

export class ToolRunner {
  readonly #sessions = new Map<string, SessionContext>();

  constructor(
    private readonly deps: ToolRunnerDeps,
    private readonly principal: Principal,
    private readonly token: string,
    private readonly clientAddress: string,
  ) {}

  /** Tools some action of this caller could be allowed (or held for approval) for. */
  listTools(): ToolSpec[] {
    return [...TOOLS.values()].filter((tool) =>
      tool.scope === "gateway"
        ? this.#couldCall(tool.name, MCP_ENDPOINT_INFO)
        : this.#usable().some((c) => this.#couldCall(tool.name, c.info)),
    );
  }

  async call(name: string, rawArguments: Record<string, unknown> | undefined): Promise<ToolResult> {
    const tool = TOOLS.get(name);
    if (tool === undefined) {
      throw new McpError(ErrorCode.InvalidParams, `unknown tool ${JSON.stringify(name.slice(0, 100))}`);
    }
    const args = rawArguments ?? {};
    const size = Buffer.byteLength(JSON.stringify(args));
    if (size > this.deps.limits.maxArgumentBytes) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `arguments of ${tool.name} are too large: ${size} bytes (limit ${this.deps.limits.maxArgumentBytes})`,
      );
    }
    const parsed = tool.input.safeParse(args);
    if (!parsed.success) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `invalid arguments for ${tool.name}: ${summarise(parsed.error as z.ZodError)}`,
      );
    }
    switch (tool.name) {
      case "list_connections":
        return this.#listConnections(args);
      case "describe_connection":
        return this.#describe(args, parsed.data as ToolArguments<"describe_connection">);
      case "query":
        return this.#query(args, parsed.data as ToolArguments<"query">);
      case "approval_status":
        return this.#approvalStatus(args, parsed.data as ToolArguments<"approval_status">);
    }
  }

  /** Ends the gate sessions this request opened. */
  close(): void {
    for (const session of this.#sessions.values()) this.deps.gate.closeSession(session, "mcp request done");
    this.#sessions.clear();
  }

  // --- tools ---------------------------------------------------------------------------------

  async #listConnections(args: Record<string, unknown>): Promise<ToolResult> {
    const refusal = await this.#judge(MCP_ENDPOINT_CONNECTION, "list_connections", args, undefined);
    if (refusal !== undefined) return refused(refusal);
    const connections = this.#usable()
      .map((c) => ({
        name: c.info.name,
        protocol: c.info.protocol,
        labels: { ...c.info.labels },
        tools: [...TOOLS.values()]
          .filter((t) => t.scope === "connection" && this.#couldCall(t.name, c.info))
          .map((t) => t.name),
      }))
      .filter((c) => c.tools.length > 0);
    return ok({ connections }, connections.length === 0 ? "no connections are available to you" : undefined);
  }

  async #describe(
    args: Record<string, unknown>,
    input: ToolArguments<"describe_connection">,
  ): Promise<ToolResult> {
    const target = this.#connection(input.connection);
    if ("error" in target) return target.error;
    const sql = catalogSql({
      ...(input.schema === undefined ? {} : { schema: input.schema }),
      ...(input.table === undefined ? {} : { table: input.table }),
    });
    const commands = this.#analyse(target.connection, sql);
    const refusal = await this.#judge(target.connection, "describe_connection", args, commands);
    if (refusal !== undefined) return refused(refusal);
    const run = await this.#run(target.connection, sql, this.deps.limits.maxRows);
    if ("error" in run) return run.error;
    const masks = this.deps.gate.sessionMasks(this.#session(target.connection));
    return ok(describeCatalog(target.connection.name, run.results[0], masks));
  }

  async #query(args: Record<string, unknown>, input: ToolArguments<"query">): Promise<ToolResult> {
    const target = this.#connection(input.connection);
    if ("error" in target) return target.error;
    const commands = this.#analyse(target.connection, input.sql);
    if (commands.length === 0) return toolError("the SQL holds no statement");
    const refusal = await this.#judge(target.connection, "query", args, commands);
    if (refusal !== undefined) return refused(refusal);
    const maxRows = Math.min(input.max_rows ?? this.deps.limits.defaultRows, this.deps.limits.maxRows);
    const run = await this.#run(target.connection, input.sql, maxRows);
    if ("error" in run) return run.error;
    const truncated = run.results.some((r) => r.truncated);
    return ok({
      connection: target.connection.name,
      results: run.results,
      truncated,
      ...(truncated
        ? {
            note: `truncated: only the first rows are included (at most ${maxRows} per result and ${this.deps.limits.maxResultChars} characters in all); row_count has the full count. Narrow the query or add LIMIT.`,
          }
        : {}),
    });
  }

  async #approvalStatus(
    args: Record<string, unknown>,
    input: ToolArguments<"approval_status">,
  ): Promise<ToolResult> {
    const refusal = await this.#judge(MCP_ENDPOINT_CONNECTION, "approval_status", args, undefined);
    if (refusal !== undefined) return refused(refusal);
    const approvals = this.deps.approvals;
    if (approvals === undefined) {
      return ok({
        request_id: input.request_id,
        approvals_enabled: false,
        status: "unavailable",
        message: "approvals are not enabled on this gateway",
      });
    }
    const found = await approvals.status(input.request_id, this.principal);
    return ok({
      request_id: input.request_id,
      approvals_enabled: true,
      status: found?.status ?? "unknown",
      message: found?.message ?? "no approval request with this id is visible to you",
    });
  }

  // --- helpers -------------------------------------------------------------------------------

  /** Judges the call (one action per SQL statement it runs); the refusal, or undefined to go on. */
  async #judge(
    connection: Connection,
    tool: ToolName,
    args: Record<string, unknown>,
    commands: readonly AnalysedCommand[] | undefined,
  ): Promise<Decision | undefined> {
    const session = this.#session(connection);
    const text = JSON.stringify({ tool, arguments: args });
    const mcp = { server: MCP_SERVER_NAME, tool, arguments: args as FactValue };
    const actions: Action[] = (commands ?? [undefined]).map((command) => ({
      kind: "mcp.tool_call",
      protocol: "mcp",
      text,
      facts: { ...(command?.facts ?? {}), mcp },
      principal: this.principal,
      connection: this.#info(connection),
      sessionId: session.id,
    }));
    const verdict = await this.deps.gate.judge(session, actions);
    if (verdict.allowed) return undefined;
    const held = verdict.held?.[0];
    if (held !== undefined) {
      // Not waited for here: the agent gets the request id and calls again once it is approved.
      return {
        ...verdict.decisions[held.actionIndex]!,
        reasonCode: "approval-pending",
        approvalId: held.requestId,
      };
    }
    return verdict.refusal ?? denial("policy-error", "the gateway refused this call");
  }

  async #run(
    connection: Connection,
    sql: string,
    maxRows: number,
  ): Promise<{ results: StatementResult[] } | { error: ToolResult }> {
    try {
      const results = await this.deps.loopback.run({
        user: this.principal.user,
        token: this.token,
        connection: connection.name,
        sql,
        caps: { maxRows, maxChars: this.deps.limits.maxResultChars },
        timeoutMs: this.deps.limits.queryTimeoutMs,
        applicationName: `sluice-mcp ${this.#session(connection).id}`,
      });
      return { results };
    } catch (error) {
      if (error instanceof ApprovalHeld) return { error: pending(error.requestId) };
      if (error instanceof QueryFailed) {
        const s = error.server;
        const lines = [s.message];
        if (s.detail !== undefined) lines.push(`DETAIL: ${s.detail}`);
        if (s.hint !== undefined) lines.push(`HINT: ${s.hint}`);
        if (s.code !== undefined) lines.push(`SQLSTATE: ${s.code}`);
        if (error.results.length > 0) {
          lines.push(`(${error.results.length} statement(s) before the error completed)`);
        }
        return { error: toolError(lines.join("\n")) };
      }
      return {
        error: toolError(
          `the gateway could not run the SQL: ${error instanceof Error ? error.message : String(error)}`,
        ),
      };
    }
  }

  #connection(name: string): { connection: Connection } | { error: ToolResult } {
    const found = this.deps.connections.get(name);
    if (found === undefined || !this.deps.analysers.has(found.connection.protocol)) {
      return { error: toolError(`no connection named ${JSON.stringify(name)} that this tool can use`) };
    }
    return { connection: found.connection };
  }

  #analyse(connection: Connection, sql: string): readonly AnalysedCommand[] {
    return this.deps.analysers.get(connection.protocol)?.analyse(sql) ?? [];
  }

  /** Connections whose protocol the tools speak and on which some statement could be allowed. */
  #usable(): { connection: Connection; info: ConnectionInfo }[] {
    return [...this.deps.connections.values()].filter(
      (c) =>
        this.deps.analysers.has(c.connection.protocol) &&
        this.deps.couldAllow({
          kind: "sql.statement",
          protocol: c.connection.protocol,
          principal: this.principal,
          connection: c.info,
          facts: {},
        }),
    );
  }

  #couldCall(tool: ToolName, connection: ConnectionInfo): boolean {
    return this.deps.couldAllow({
      kind: "mcp.tool_call",
      protocol: "mcp",
      principal: this.principal,
      connection,
      facts: { mcp: { server: MCP_SERVER_NAME, tool } },
    });
  }

  #info(connection: Connection): ConnectionInfo {
    return connection === MCP_ENDPOINT_CONNECTION
      ? MCP_ENDPOINT_INFO
      : (this.deps.connections.get(connection.name)?.info ?? describeConnection(connection));
  }

  #session(connection: Connection): SessionContext {
    let session = this.#sessions.get(connection.name);
    if (session === undefined) {
      session = this.deps.gate.openSession(this.principal, connection, this.clientAddress);
      this.#sessions.set(connection.name, session);
    }
    return session;
  }
}

function ok(structured: object, note?: string): ToolResult {
  const text = JSON.stringify(structured);
  return {
    content: [{ type: "text", text: note === undefined ? text : `${note}\n${text}` }],
    structuredContent: structured as Record<string, unknown>,
  };
}

function toolError(message: string): ToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

/** A call held for approval: not an error, a pending result with the request to ask about. */
function pending(requestId: string): ToolResult {
  return ok({
    status: "pending",
    request_id: requestId,
    message:
      "held for human approval: call approval_status with this request_id, and make the same call again once it is approved (it then runs once)",
  });
}

/** A refusal as a tool error: the rule's reason, the reason code, the rules and policy version. */
function refused(decision: Decision): ToolResult {
  if (decision.reasonCode === "approval-pending" && decision.approvalId !== undefined)
    return pending(decision.approvalId);
  const rules = decision.ruleIds.length > 0 ? ` by rule ${decision.ruleIds.join(", ")}` : "";
  const what = decision.reasonCode === "approval-unavailable" ? "needs approval" : "denied";
  return toolError(
    `sluice: ${what}${rules}: ${decision.reason}\nreason: ${decision.reasonCode}; policy: ${decision.policyVersion}`,
  );
}

function summarise(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`)
    .join("; ");
}
