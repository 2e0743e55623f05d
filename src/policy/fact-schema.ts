/**
 * The single table of every fact a policy `when` condition (or a `{{path}}` in a reason) may use.
 * The CEL environment, the field-name linter and the fact table in docs/policy.md are all derived
 * from it, so adding a fact is one line here (plus filling it in the analyser).
 */

/**
 * Fact types. `T?` may be null (absent). `object?` is a nested record that may be null; its
 * fields are listed as further rows below it. Integers are CEL `int`.
 */
export type FactType =
  | "bool"
  | "int"
  | "string"
  | "string?"
  | "list<string>"
  | "map<string, string>"
  | "map<string, dyn>"
  | "object?";

export interface FactField {
  /** Dotted path as written in CEL, e.g. `sql.kinds`. */
  readonly path: string;
  readonly type: FactType;
  readonly description: string;
}

/** The protocol fact namespaces (`Action.facts` keys). Absent namespaces are empty. */
export const FACT_NAMESPACES = ["sql", "k8s", "ssh", "http", "mcp"] as const;

/** Every CEL variable a `when` condition may use, in documentation order. */
export const FACT_ROOTS = [...FACT_NAMESPACES, "principal", "connection", "action", "time"] as const;
export type FactRoot = (typeof FACT_ROOTS)[number];

export const ROOT_DESCRIPTIONS: Readonly<Record<FactRoot, string>> = {
  sql: "SQL statements (PostgreSQL, later MySQL), from the SQL analyser.",
  k8s: "Kubernetes API requests (not built yet; the schema is fixed so policies can be written).",
  ssh: "SSH exec and port-forward requests (not built yet).",
  http: "HTTP requests (not built yet).",
  mcp: "MCP tool calls at the gateway's `/mcp` endpoint (action `mcp.tool_call`, protocol `mcp`). `query` and `describe_connection` also carry the `sql` facts of the SQL they run.",
  principal: "Who is acting, from the verified credential.",
  connection: "The named connection being used.",
  action: "The normalized action.",
  time: "Wall-clock time when the decision is made, in the configured time zone (default UTC).",
};

export const factSchema: readonly FactField[] = [
  {
    path: "sql.parsed",
    type: "bool",
    description:
      "True when the analyser understood the whole command. False for text it could not parse; deny those.",
  },
  {
    path: "sql.dynamic",
    type: "bool",
    description:
      "True when the command runs SQL built at run time that cannot be analysed (EXECUTE of a string, dynamic SQL in a DO block).",
  },
  {
    path: "sql.kinds",
    type: "list<string>",
    description:
      'Every statement kind in the command, nested ones included, lower case (e.g. `["select", "delete"]` for a CTE that deletes).',
  },
  {
    path: "sql.statement_kind",
    type: "string",
    description:
      "Kind of the top-level statement: `select`, `insert`, `update`, `delete`, `drop`, `truncate`, ...",
  },
  {
    path: "sql.tables",
    type: "list<string>",
    description: "Every table referenced, schema-qualified when written so (`public.users`).",
  },
  {
    path: "sql.writes",
    type: "list<string>",
    description: "Tables the command writes to (insert, update, delete, merge, truncate, COPY FROM).",
  },
  {
    path: "sql.unfiltered_writes",
    type: "list<string>",
    description: "Tables updated or deleted without a WHERE clause.",
  },
  { path: "sql.functions", type: "list<string>", description: "Functions called." },
  {
    path: "sql.columns",
    type: "list<string>",
    description: "Columns referenced, table-qualified when the table is known (`customers.email`).",
  },
  {
    path: "sql.settings",
    type: "list<string>",
    description: "Session settings changed (SET, set_config), e.g. `search_path`.",
  },
  {
    path: "sql.prepared_name",
    type: "string?",
    description: "Prepared statement name for PREPARE, EXECUTE and DEALLOCATE; null otherwise.",
  },
  { path: "sql.statements", type: "int", description: "Number of statements in the command." },

  {
    path: "k8s.verb",
    type: "string",
    description:
      "API verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.",
  },
  { path: "k8s.api_group", type: "string", description: 'API group; `""` for the core group.' },
  {
    path: "k8s.resource",
    type: "string",
    description: "Resource, plural and lower case (`pods`, `deployments`).",
  },
  {
    path: "k8s.subresource",
    type: "string",
    description: 'Subresource (`exec`, `log`, `portforward`); `""` when none.',
  },
  { path: "k8s.namespace", type: "string", description: 'Namespace; `""` for cluster-scoped requests.' },
  { path: "k8s.name", type: "string", description: 'Object name; `""` for collection requests.' },

  {
    path: "ssh.command",
    type: "string",
    description: 'Command line as sent; `""` for an interactive shell.',
  },
  { path: "ssh.argv", type: "list<string>", description: "The command split into words." },
  {
    path: "ssh.forward_target",
    type: "string?",
    description: "`host:port` of a port-forward request; null otherwise.",
  },

  { path: "http.method", type: "string", description: "Request method, upper case." },
  { path: "http.path", type: "string", description: "Request path, without the query string." },
  {
    path: "http.query",
    type: "map<string, string>",
    description: "Query parameters; repeated keys joined with `,`.",
  },
  {
    path: "http.headers",
    type: "map<string, string>",
    description: "Request headers, lower-case names; repeated headers joined with `, `. Credentials removed.",
  },

  {
    path: "mcp.server",
    type: "string",
    description: "Name of the MCP server (`sluice` for the gateway's own tools).",
  },
  {
    path: "mcp.tool",
    type: "string",
    description: "Tool being called: `list_connections`, `describe_connection`, `query`, `approval_status`.",
  },
  {
    path: "mcp.arguments",
    type: "map<string, dyn>",
    description: "Tool call arguments as JSON (numbers are `double`).",
  },

  { path: "principal.user", type: "string", description: "Stable subject; for humans the e-mail address." },
  { path: "principal.groups", type: "list<string>", description: "Groups from the identity provider." },
  { path: "principal.kind", type: "string", description: "`human`, `service` or `agent`." },
  {
    path: "principal.on_behalf_of",
    type: "object?",
    description: "For agents, the human the agent acts for; null otherwise.",
  },
  { path: "principal.on_behalf_of.user", type: "string", description: "That human's subject." },
  { path: "principal.on_behalf_of.groups", type: "list<string>", description: "That human's groups." },

  { path: "connection.name", type: "string", description: "Connection name (`pg-prod`)." },
  { path: "connection.protocol", type: "string", description: "Connection protocol (`postgres`)." },
  { path: "connection.labels", type: "map<string, string>", description: "Connection labels (`env: prod`)." },

  {
    path: "action.kind",
    type: "string",
    description: "Action kind: `sql.statement`, `k8s.request`, `ssh.exec`, ...",
  },
  { path: "action.protocol", type: "string", description: "Protocol of the action (`postgres`)." },

  { path: "time.hour", type: "int", description: "Hour, 0-23." },
  { path: "time.minute", type: "int", description: "Minute, 0-59." },
  { path: "time.weekday", type: "int", description: "Day of the week, 0 = Sunday ... 6 = Saturday." },
  { path: "time.date", type: "string", description: "Date as `YYYY-MM-DD`." },
];

/** A node of the fact tree built from the table: records have known fields, leaves have a type. */
export interface FactNode {
  readonly path: string;
  readonly type: FactType | "object";
  readonly fields?: ReadonlyMap<string, FactNode>;
}

function buildFactTree(): ReadonlyMap<string, FactNode> {
  const roots = new Map<string, { path: string; type: FactType | "object"; fields: Map<string, FactNode> }>();
  const records = new Map<string, Map<string, FactNode>>();
  for (const root of FACT_ROOTS) {
    const fields = new Map<string, FactNode>();
    roots.set(root, { path: root, type: "object", fields });
    records.set(root, fields);
  }
  for (const field of factSchema) {
    const dot = field.path.lastIndexOf(".");
    const parent = records.get(field.path.slice(0, dot));
    if (parent === undefined) throw new Error(`fact ${field.path} has no parent record`);
    const node: FactNode =
      field.type === "object?"
        ? (() => {
            const fields = new Map<string, FactNode>();
            records.set(field.path, fields);
            return { path: field.path, type: field.type, fields };
          })()
        : { path: field.path, type: field.type };
    parent.set(field.path.slice(dot + 1), node);
  }
  return roots;
}

/** Root name → node. Built once. */
export const factTree: ReadonlyMap<string, FactNode> = buildFactTree();

/** Resolves a dotted path; map-typed facts accept any key below them. */
export function resolveFactPath(
  segments: readonly string[],
):
  | { ok: true; node: FactNode | undefined }
  | { ok: false; known: string; unknown: string; candidates: readonly string[] } {
  const [root, ...rest] = segments;
  let node = root === undefined ? undefined : factTree.get(root);
  if (node === undefined) {
    return { ok: false, known: "", unknown: root ?? "", candidates: [...factTree.keys()] };
  }
  for (const segment of rest) {
    if (node.fields === undefined) {
      // Beyond a map (any key) or a scalar (CEL's type checker reports indexing errors).
      return { ok: true, node: undefined };
    }
    const next: FactNode | undefined = node.fields.get(segment);
    if (next === undefined) {
      return { ok: false, known: node.path, unknown: segment, candidates: [...node.fields.keys()] };
    }
    node = next;
  }
  return { ok: true, node };
}

/** The markdown fact table embedded in docs/policy.md (kept in sync by a test), columns aligned. */
export function renderFactTable(): string {
  const rows: string[][] = [["Fact", "Type", "Description"]];
  for (const root of FACT_ROOTS) {
    rows.push([`**\`${root}\`**`, "", ROOT_DESCRIPTIONS[root]]);
    for (const field of factSchema) {
      if (field.path.split(".")[0] !== root) continue;
      rows.push([`\`${field.path}\``, `\`${field.type}\``, field.description.replaceAll("|", "\\|")]);
    }
  }
  const widths = [0, 1, 2].map((i) => Math.max(3, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const [header, ...body] = rows;
  return [line(header ?? []), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

export const FACT_TABLE_BEGIN = "<!-- fact-table:begin (generated from src/policy/fact-schema.ts) -->";
export const FACT_TABLE_END = "<!-- fact-table:end -->";
