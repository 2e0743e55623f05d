import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { loadConfig } from "../../src/config/index.ts";
import { loadOrCreateSigningKey, TokenIssuer } from "../../src/identity/index.ts";
import { type GatewayFixture, startGatewayFixture, TEST_POLICY } from "../harness/gateway-fixture.ts";
import { sluice } from "../harness/sluice-cli.ts";

const POLICY = `${TEST_POLICY}
  - id: agents-use-mcp
    description: Agents may call every tool; the SQL they run is judged again on the PostgreSQL path
    match: { protocols: [mcp], principal_kind: [agent] }
    effect: allow
  - id: agent-deletes-need-approval
    match: { protocols: [mcp], principal_kind: [agent] }
    when: mcp.tool == "query" && "delete" in sql.kinds
    effect: approve
    approval: { reviewers: [dba] }
    reason: deletes by agents for {{principal.on_behalf_of.user}} need a DBA
  - id: agent-deletes-run-once-approved
    description: The tool call was approved at the MCP layer; the statement itself may run
    match: { protocols: [postgres], principal_kind: [agent] }
    when: '"delete" in sql.kinds'
    effect: allow
  - id: agent-updates-on-postgres-need-approval
    description: The statement itself is held on the PostgreSQL path, not the tool call
    match: { protocols: [postgres], principal_kind: [agent] }
    when: '"insert" in sql.kinds'
    effect: approve
    approval: { reviewers: [dba] }
  - id: services-list-only
    match: { protocols: [mcp], principal_kind: [service] }
    when: mcp.tool in ["list_connections", "approval_status"]
    effect: allow
  - id: mask-emails
    match: { protocols: [postgres] }
    effect: mask
    mask: { columns: [customers.email], strategy: redact }
`;

const AGENT = "agent:copilot";
const HUMAN = "bob@corp.example";

interface QueryResult {
  connection: string;
  results: {
    command: string | null;
    columns: { name: string }[];
    rows: (string | null)[][];
    row_count: number;
    truncated: boolean;
  }[];
  truncated: boolean;
  note?: string;
}

type CallResult = Awaited<ReturnType<Client["callTool"]>>;

const text = (result: CallResult): string =>
  (result.content as { type: string; text?: string }[]).map((c) => c.text ?? "").join("\n");

describe("MCP endpoint", () => {
  let f: GatewayFixture;
  let agentToken: string;
  let serviceToken: string;
  let humanToken: string;
  const clients: Client[] = [];
  let mcpUrl: URL;

  const connect = async (token: string): Promise<Client> => {
    const transport = new StreamableHTTPClientTransport(mcpUrl, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: "sluice-test", version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);
    return client;
  };

  /** A raw JSON-RPC POST, for what the SDK client never sends (batches, broken bodies). */
  const post = (body: string, token: string | null = agentToken, headers: Record<string, string> = {}) =>
    fetch(mcpUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-06-18",
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...headers,
      },
      body,
    });

  const call = (id: number, name: string, args: Record<string, unknown>) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: args },
  });

  before(async () => {
    f = await startGatewayFixture({ policy: POLICY });
    mcpUrl = new URL("/mcp", f.gateway.publicUrl);
    // The agent's token comes from the documented command line.
    const issued = await sluice([
      "token",
      "issue",
      "-c",
      f.configPath,
      "--user",
      AGENT,
      "--groups",
      "analysts",
      "--kind",
      "agent",
      "--on-behalf-of",
      HUMAN,
      "--on-behalf-of-groups",
      "engineers",
      "--ttl",
      "10m",
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    agentToken = issued.stdout.trim();
    serviceToken = await f.gateway.issuer.issue({
      user: "svc-report",
      groups: ["reporting"],
      kind: "service",
      ttlSeconds: 600,
    });
    humanToken = await f.token("alice@corp.example", ["analysts"]);
    const app = await f.app();
    await app.query("CREATE TABLE customers (id int PRIMARY KEY, name text, email text)");
    await app.query(
      "INSERT INTO customers VALUES (1, 'Alice', 'alice@example.com'), (2, 'Bob', 'bob@example.com')",
    );
    await app.end();
  });

  after(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await f.stop();
  });

  test("publishes protected-resource metadata and challenges a request without a token", async () => {
    const res = await post(JSON.stringify(call(1, "list_connections", {})), null);
    assert.equal(res.status, 401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    assert.match(challenge, /^Bearer /);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    assert.ok(metadataUrl, challenge);
    for (const url of [metadataUrl, new URL("/.well-known/oauth-protected-resource", mcpUrl).href]) {
      const metadata = (await (await fetch(url)).json()) as Record<string, unknown>;
      assert.equal(metadata.resource, mcpUrl.href);
      assert.deepEqual(metadata.authorization_servers, [f.gateway.publicUrl]);
      assert.deepEqual(metadata.bearer_methods_supported, ["header"]);
    }
  });

  test("a wrong or expired token gets 401 with an invalid_token challenge", async () => {
    const config = await loadConfig(f.configPath);
    const key = await loadOrCreateSigningKey(config.signingKey.path);
    const anHourAgo = () => new Date(Date.now() - 3_600_000);
    const expired = await new TokenIssuer(key, config.tokens, { now: anHourAgo }).issue({
      user: AGENT,
      groups: ["analysts"],
      kind: "agent",
      onBehalfOf: { user: HUMAN, groups: [] },
      ttlSeconds: 60,
    });
    for (const token of ["not-a-token", `${agentToken.slice(0, -4)}AAAA`, expired]) {
      const res = await post(JSON.stringify(call(1, "list_connections", {})), token);
      assert.equal(res.status, 401, token.slice(0, 20));
      assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
      assert.match(res.headers.get("www-authenticate") ?? "", /resource_metadata="/);
    }
    // The SDK client sees the same refusal.
    await assert.rejects(connect(expired));
  });

  test("token issue mints on-behalf-of only for agents", async () => {
    const r = await sluice(["token", "issue", "-c", f.configPath, "--user", "x@y", "--on-behalf-of", HUMAN]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--on-behalf-of is for agent tokens/);
    assert.equal(r.stdout, "");
  });

  test("a connection whose target is down gives a tool error, not a hang or a crash", async () => {
    const agent = await connect(agentToken);
    const result = await agent.callTool({
      name: "query",
      arguments: { connection: "pg-down", sql: "SELECT 1" },
    });
    assert.equal(result.isError, true);
    assert.match(text(result), /could not run the SQL/);
    const missing = await agent.callTool({
      name: "query",
      arguments: { connection: "nope", sql: "SELECT 1" },
    });
    assert.equal(missing.isError, true);
    assert.match(text(missing), /no connection named "nope"/);
  });

  test("tools/list shows each principal only the tools its policy could allow", async () => {
    const names = async (token: string) =>
      (await (await connect(token)).listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(await names(agentToken), [
      "approval_status",
      "describe_connection",
      "list_connections",
      "query",
    ]);
    assert.deepEqual(await names(serviceToken), ["approval_status", "list_connections"]);
    assert.deepEqual(await names(humanToken), []);
  });

  test("a tool not offered is still judged: the call is denied with the reason", async () => {
    const service = await connect(serviceToken);
    const result = await service.callTool({
      name: "query",
      arguments: { connection: "pg-dev", sql: "SELECT 1" },
    });
    assert.equal(result.isError, true);
    assert.match(text(result), /no policy rule allows this action/);
    assert.match(text(result), /reason: no-rule-allowed/);
  });

  test("list_connections and describe_connection, with masked columns marked", async () => {
    const agent = await connect(agentToken);
    const listed = await agent.callTool({ name: "list_connections", arguments: {} });
    assert.notEqual(listed.isError, true, text(listed));
    const connections = (listed.structuredContent as { connections: { name: string; tools: string[] }[] })
      .connections;
    assert.deepEqual(connections.map((c) => c.name).sort(), ["pg-dev", "pg-down", "pg-prod"]);
    assert.deepEqual(connections[0]?.tools, ["describe_connection", "query"]);

    const described = await agent.callTool({
      name: "describe_connection",
      arguments: { connection: "pg-prod" },
    });
    assert.notEqual(described.isError, true, text(described));
    const tables = (
      described.structuredContent as {
        tables: {
          schema: string;
          name: string;
          columns: { name: string; type: string; masked: boolean; mask_rules?: string[] }[];
        }[];
      }
    ).tables;
    const customers = tables.find((t) => t.schema === "public" && t.name === "customers");
    assert.ok(customers, JSON.stringify(tables));
    assert.deepEqual(
      customers.columns.map((c) => [c.name, c.type, c.masked]),
      [
        ["id", "integer", false],
        ["name", "text", false],
        ["email", "text", true],
      ],
    );
    assert.deepEqual(customers.columns[2]?.mask_rules, ["mask-emails"]);
  });

  test("query runs through the PostgreSQL path: structured rows, masked column redacted", async () => {
    const agent = await connect(agentToken);
    const result = await agent.callTool({
      name: "query",
      arguments: { connection: "pg-prod", sql: "SELECT id, name, email FROM customers ORDER BY id" },
    });
    assert.notEqual(result.isError, true, text(result));
    const out = result.structuredContent as unknown as QueryResult;
    assert.equal(out.truncated, false);
    assert.equal(out.results.length, 1);
    assert.deepEqual(
      out.results[0]?.columns.map((c) => c.name),
      ["id", "name", "email"],
    );
    assert.deepEqual(out.results[0]?.rows, [
      ["1", "Alice", "[MASKED]"],
      ["2", "Bob", "[MASKED]"],
    ]);
    assert.equal(out.results[0]?.command, "SELECT 2");
    assert.ok(!text(result).includes("@example.com"), "the e-mail addresses never reach the client");
  });

  test("results are capped with a truncation note", async () => {
    const agent = await connect(agentToken);
    const result = await agent.callTool({
      name: "query",
      arguments: { connection: "pg-dev", sql: "SELECT g FROM generate_series(1, 50) g", max_rows: 3 },
    });
    assert.notEqual(result.isError, true, text(result));
    const out = result.structuredContent as unknown as QueryResult;
    assert.equal(out.truncated, true);
    assert.deepEqual(out.results[0]?.rows, [["1"], ["2"], ["3"]]);
    assert.equal(out.results[0]?.row_count, 50);
    assert.match(out.note ?? "", /truncated/);
  });

  test("a denied DROP is a tool error with the rule's reason, and nothing ran", async () => {
    const agent = await connect(agentToken);
    const result = await agent.callTool({
      name: "query",
      arguments: { connection: "pg-prod", sql: "DROP TABLE customers" },
    });
    assert.equal(result.isError, true);
    assert.match(
      text(result),
      /denied by rule no-drop-in-prod: DROP and TRUNCATE are not allowed on pg-prod/,
    );
    assert.match(text(result), /reason: rule-denied/);
    const app = await f.app();
    assert.equal((await app.query("SELECT count(*)::int AS n FROM customers")).rows[0].n, 2);
    await app.end();
  });

  test("what the MCP layer allows is still judged statement by statement on the PostgreSQL path", async () => {
    const agent = await connect(agentToken);
    // agents-use-mcp allows the call; analysts-read does not allow the write.
    const result = await agent.callTool({
      name: "query",
      arguments: { connection: "pg-dev", sql: "UPDATE customers SET name = 'Mallory' WHERE id = 1" },
    });
    assert.equal(result.isError, true);
    assert.match(text(result), /sluice: denied: no policy rule allows this action/);
    assert.match(text(result), /SQLSTATE: 42501/);
    const app = await f.app();
    assert.equal((await app.query("SELECT name FROM customers WHERE id = 1")).rows[0].name, "Alice");
    await app.end();
  });

  test("an approve decision returns a pending result; once a DBA approves, the same call runs once", async () => {
    const setup = await f.app();
    await setup.query("CREATE TABLE scratch (id int PRIMARY KEY)");
    await setup.query("INSERT INTO scratch VALUES (1), (2)");
    await setup.end();
    const agent = await connect(agentToken);
    const call = {
      name: "query",
      arguments: { connection: "pg-dev", sql: "DELETE FROM scratch WHERE id = 2" },
    };
    const result = await agent.callTool(call);
    assert.notEqual(result.isError, true, text(result));
    const held = result.structuredContent as { status: string; request_id: string };
    assert.equal(held.status, "pending");
    assert.match(held.request_id, /^[0-9a-f-]{36}$/);

    const status = await agent.callTool({
      name: "approval_status",
      arguments: { request_id: held.request_id },
    });
    assert.notEqual(status.isError, true, text(status));
    assert.deepEqual(
      { ...(status.structuredContent as Record<string, unknown>), message: undefined },
      { request_id: held.request_id, approvals_enabled: true, status: "pending", message: undefined },
    );
    const unknown = await agent.callTool({ name: "approval_status", arguments: { request_id: "req-123" } });
    assert.equal((unknown.structuredContent as { status: string }).status, "unknown");

    const dba = await f.token("dan@corp.example", ["dba"]);
    const vote = await fetch(`${f.gateway.publicUrl}/api/approvals/${held.request_id}/approve`, {
      method: "POST",
      headers: { authorization: `Bearer ${dba}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(vote.status, 200);
    const again = await agent.callTool(call);
    assert.notEqual(again.isError, true, text(again));
    const app = await f.app();
    assert.deepEqual((await app.query("SELECT id FROM scratch")).rows, [{ id: 1 }]);
    await app.end();
    const third = await agent.callTool(call);
    assert.equal(
      (third.structuredContent as { status: string }).status,
      "pending",
      "an approval is used once",
    );
  });

  test("a statement held on the PostgreSQL path also comes back pending, and runs once approved", async () => {
    const setup = await f.app();
    await setup.query("CREATE TABLE held_rows (id int PRIMARY KEY, note text)");
    await setup.query("INSERT INTO held_rows VALUES (1, 'before')");
    await setup.end();
    const agent = await connect(agentToken);
    const call = {
      name: "query",
      arguments: { connection: "pg-dev", sql: "INSERT INTO held_rows VALUES (2, 'after')" },
    };
    const held = await agent.callTool(call);
    assert.notEqual(held.isError, true, text(held));
    const pending = held.structuredContent as { status: string; request_id: string };
    assert.equal(pending.status, "pending");
    const before = await f.app();
    assert.equal(
      (await before.query("SELECT count(*)::int AS n FROM held_rows")).rows[0].n,
      1,
      "nothing ran",
    );
    await before.end();
    const dba = await f.token("dan@corp.example", ["dba"]);
    const vote = await fetch(`${f.gateway.publicUrl}/api/approvals/${pending.request_id}/approve`, {
      method: "POST",
      headers: { authorization: `Bearer ${dba}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(vote.status, 200);
    const again = await agent.callTool(call);
    assert.notEqual(again.isError, true, text(again));
    const app = await f.app();
    assert.deepEqual((await app.query("SELECT id FROM held_rows ORDER BY id")).rows, [{ id: 1 }, { id: 2 }]);
    await app.end();
  });

  test("unknown tools and invalid or oversized arguments are protocol errors", async () => {
    const agent = await connect(agentToken);
    const rejects = async (name: string, args: Record<string, unknown>, pattern: RegExp) => {
      await assert.rejects(agent.callTool({ name, arguments: args }), (error: unknown) => {
        assert.ok(error instanceof McpError, String(error));
        assert.equal(error.code, ErrorCode.InvalidParams);
        assert.match(error.message, pattern);
        return true;
      });
    };
    await rejects("drop_everything", {}, /unknown tool/);
    await rejects("query", { connection: "pg-dev" }, /invalid arguments for query: sql/);
    await rejects("query", { connection: "pg-dev", sql: "SELECT 1", extra: true }, /Unrecognized key/);
    await rejects(
      "query",
      { connection: "pg-dev", sql: `SELECT '${"x".repeat(300_000)}'` },
      /arguments of query are too large/,
    );
    // A body over the request limit is refused before it is parsed.
    const huge = await post(
      JSON.stringify(call(1, "query", { connection: "pg-dev", sql: `SELECT '${"x".repeat(1_100_000)}'` })),
    );
    assert.equal(huge.status, 413);
    assert.equal(((await huge.json()) as { error: { code: number } }).error.code, ErrorCode.InvalidRequest);
  });

  test("malformed bodies get JSON-RPC errors and the gateway keeps serving", async () => {
    const broken = await post("{not json");
    assert.equal(broken.status, 400);
    assert.equal(((await broken.json()) as { error: { code: number } }).error.code, ErrorCode.ParseError);
    const notRpc = await post(JSON.stringify({ hello: "world" }));
    assert.equal(notRpc.status, 400);
    assert.equal(((await notRpc.json()) as { error: { code: number } }).error.code, ErrorCode.ParseError);
    const empty = await post("[]");
    assert.equal(empty.status, 400);
    const duplicate = await post(
      JSON.stringify([call(7, "list_connections", {}), call(7, "list_connections", {})]),
    );
    assert.equal(duplicate.status, 400);
    const agent = await connect(agentToken);
    assert.equal((await agent.listTools()).tools.length, 4);
  });

  test("a batch is checked call by call: one denied call does not stop or widen the others", async () => {
    const res = await post(
      JSON.stringify([
        call(1, "query", { connection: "pg-prod", sql: "SELECT count(*) FROM customers" }),
        call(2, "query", { connection: "pg-prod", sql: "DROP TABLE customers" }),
        call(3, "list_connections", {}),
      ]),
    );
    assert.equal(res.status, 200);
    const replies = (await res.json()) as {
      id: number;
      result?: { isError?: boolean; content: { text: string }[]; structuredContent?: QueryResult };
    }[];
    const byId = new Map(replies.map((r) => [r.id, r.result]));
    assert.equal(byId.size, 3);
    assert.notEqual(byId.get(1)?.isError, true);
    assert.deepEqual(byId.get(1)?.structuredContent?.results[0]?.rows, [["2"]]);
    assert.equal(byId.get(2)?.isError, true);
    assert.match(byId.get(2)?.content[0]?.text ?? "", /no-drop-in-prod/);
    assert.notEqual(byId.get(3)?.isError, true);
    const app = await f.app();
    assert.equal((await app.query("SELECT count(*)::int AS n FROM customers")).rows[0].n, 2);
    await app.end();
  });

  test("the audit trail holds the MCP calls and their SQL, with the agent and the human behind it", async () => {
    const events = await f.gateway.store.searchAudit({ user: AGENT, limit: 10_000 });
    const decisions = events
      .filter((e) => e.type === "action.allowed" || e.type === "action.denied")
      .map(
        (e) =>
          e.data as {
            principal: { user: string; kind: string; on_behalf_of?: { user: string } };
            action: { kind: string; protocol: string; text: string; facts: Record<string, unknown> };
            decision: { effect: string; rule_ids: string[] };
          },
      );
    const tool = (name: string, sqlText: string) =>
      decisions.find(
        (d) =>
          d.action.kind === "mcp.tool_call" &&
          d.action.text.includes(name) &&
          d.action.text.includes(sqlText),
      );
    const select = tool('"query"', "SELECT id, name, email FROM customers ORDER BY id");
    assert.ok(select, "the MCP call was recorded");
    assert.equal(select.action.protocol, "mcp");
    assert.equal(select.decision.effect, "allow");
    assert.deepEqual(select.decision.rule_ids, ["agents-use-mcp"]);
    assert.equal((select.action.facts.mcp as { tool: string }).tool, "query");
    assert.deepEqual((select.action.facts.sql as { kinds: string[] }).kinds, ["select"]);
    assert.equal(select.principal.kind, "agent");
    assert.equal(select.principal.on_behalf_of?.user, HUMAN);

    const statement = decisions.find(
      (d) =>
        d.action.kind === "sql.statement" &&
        d.action.text === "SELECT id, name, email FROM customers ORDER BY id",
    );
    assert.ok(statement, "the SQL statement was recorded on the PostgreSQL path");
    assert.equal(statement.action.protocol, "postgres");
    assert.equal(statement.principal.on_behalf_of?.user, HUMAN);

    const drop = tool('"query"', "DROP TABLE customers");
    assert.equal(drop?.decision.effect, "deny");
    assert.deepEqual(drop?.decision.rule_ids, ["no-drop-in-prod"]);
    assert.ok(
      !decisions.some((d) => d.action.kind === "sql.statement" && d.action.text.includes("DROP TABLE")),
      "a DROP denied at the MCP layer never reached the PostgreSQL path",
    );
    const masked = events.find((e) => e.type === "result.masked");
    assert.ok(masked, "masking counts were recorded for the MCP query's result");
  });
});
