import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AllowProbe, ConnectionInfo, Principal } from "../core/index.ts";
import { alice, bundleOf, pgProd } from "./test-support.ts";

const agent: Principal = {
  user: "agent:helper",
  groups: ["analysts"],
  kind: "agent",
  onBehalfOf: { user: "bob@corp.example", groups: ["engineers"] },
};
const mcpEndpoint: ConnectionInfo = { name: "@mcp", protocol: "mcp", labels: {} };

const probe = (tool: string, overrides: Partial<AllowProbe> = {}): AllowProbe => ({
  kind: "mcp.tool_call",
  protocol: "mcp",
  principal: agent,
  connection: mcpEndpoint,
  facts: { mcp: { server: "sluice", tool } },
  ...overrides,
});

const RULE_ON_TOOL = `
  - id: reads-on-tool
    match: { protocols: [mcp] }
    when: mcp.tool == "query" && sql.parsed
    effect: allow`;

const POLICY = `
  - id: agents-list
    match: { protocols: [mcp], principal_kind: [agent] }
    when: mcp.tool in ["list_connections", "approval_status"]
    effect: allow
  - id: agents-query-reads
    match: { protocols: [mcp], principal_kind: [agent] }
    when: mcp.tool == "query" && sql.parsed && size(sql.writes) == 0
    effect: allow
  - id: agents-describe-for-engineers
    match: { protocols: [mcp] }
    when: mcp.tool == "describe_connection" && "engineers" in principal.on_behalf_of.groups
    effect: approve
    approval: { reviewers: [dba] }
  - id: nobody-secret-tool
    match: { protocols: [mcp] }
    when: mcp.tool == "secret"
    effect: deny
  - id: allow-secret-sometimes
    match: { protocols: [mcp] }
    when: mcp.tool == "secret" && size(mcp.arguments) > 0
    effect: allow
  - id: shadow-everything
    mode: shadow
    effect: allow
`;

describe("couldAllow", () => {
  const bundle = bundleOf(POLICY);

  it("evaluates conditions that read only known facts", () => {
    assert.equal(bundle.couldAllow(probe("list_connections")), true);
    assert.equal(bundle.couldAllow(probe("approval_status")), true);
    // principal.on_behalf_of is known: bob is an engineer, so the approve rule could apply.
    assert.equal(bundle.couldAllow(probe("describe_connection")), true);
    assert.equal(bundle.couldAllow(probe("unheard_of")), false);
  });

  it("treats conditions on facts the probe lacks as possibly true", () => {
    // sql.* is unknown ahead of the statement: the query rule could allow.
    assert.equal(bundle.couldAllow(probe("query")), true);
  });

  it("a known part that decides makes unknown facts irrelevant; has() keeps them unknown", () => {
    const b = bundleOf(`${RULE_ON_TOOL}
  - id: presence
    match: { protocols: [mcp] }
    when: mcp.tool == "other" && !has(mcp.arguments)
    effect: allow
`);
    assert.equal(b.couldAllow(probe("query")), true);
    assert.equal(b.couldAllow(probe("list_connections")), true, "has() on an unknown fact: possible");
    assert.equal(bundleOf(RULE_ON_TOOL).couldAllow(probe("describe_connection")), false);
    assert.equal(b.couldAllow(probe("other")), true);
    assert.equal(b.couldAllow(probe("other", { facts: { mcp: { tool: "other", arguments: {} } } })), false);
  });

  it("a deny rule that certainly applies wins over an allow that might", () => {
    assert.equal(bundle.couldAllow(probe("secret")), false);
  });

  it("respects match: kinds, protocols and shadow rules", () => {
    assert.equal(bundle.couldAllow(probe("list_connections", { principal: alice })), false);
    assert.equal(bundle.couldAllow(probe("list_connections", { protocol: "postgres" })), false);
  });

  it("an evaluation error counts as a deny, as in decide", () => {
    const human: Principal = { user: "carol@corp.example", groups: [], kind: "agent" };
    // on_behalf_of is null: reading its groups fails, so the rule denies.
    assert.equal(bundle.couldAllow(probe("describe_connection", { principal: human })), false);
  });

  it("connection facts are known", () => {
    const b = bundleOf(`
  - id: sql-on-dev
    match: { protocols: [postgres] }
    when: connection.labels.env == "dev" && sql.parsed
    effect: allow
`);
    const sql = (connection: ConnectionInfo): AllowProbe => ({
      kind: "sql.statement",
      protocol: "postgres",
      principal: alice,
      connection,
      facts: {},
    });
    assert.equal(b.couldAllow(sql(pgProd)), false);
    assert.equal(b.couldAllow(sql({ ...pgProd, labels: { env: "dev" } })), true);
  });
});
