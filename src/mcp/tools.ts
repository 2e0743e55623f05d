/** The tools the gateway's MCP endpoint offers: names, argument and result schemas, annotations. */
import { z } from "zod";

/** `mcp.server` of every action the endpoint judges. */
export const MCP_SERVER_NAME = "sluice";

/** The largest `max_rows` a caller may ask of `query`. */
export const MAX_ROWS_LIMIT = 10_000;

/** PostgreSQL identifiers `describe_connection` accepts as filters (unquoted, as written). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

const connectionName = z.string().min(1).max(200).describe("A connection name from list_connections.");

const inputs = {
  list_connections: z.object({}).strict(),
  describe_connection: z
    .object({
      connection: connectionName,
      schema: z.string().regex(IDENTIFIER).optional().describe("Only this schema."),
      table: z.string().regex(IDENTIFIER).optional().describe("Only this table."),
    })
    .strict(),
  query: z
    .object({
      connection: connectionName,
      sql: z.string().min(1).describe("SQL to run; several statements separated by `;` run as one batch."),
      max_rows: z
        .number()
        .int()
        .min(1)
        .max(MAX_ROWS_LIMIT)
        .optional()
        .describe("Rows to return per result (the gateway's own cap applies too)."),
    })
    .strict(),
  approval_status: z
    .object({ request_id: z.string().min(1).max(200).describe("The id a pending result named.") })
    .strict(),
} as const;

export type ToolName = keyof typeof inputs;
export type ToolArguments<T extends ToolName> = z.infer<(typeof inputs)[T]>;

const column = z.object({ name: z.string(), type_oid: z.number().int() });
const statementResult = z.object({
  command: z.string().nullable().describe("The server's command tag, e.g. `SELECT 3`."),
  columns: z.array(column),
  rows: z.array(z.array(z.string().nullable())).describe("Values in PostgreSQL's text format."),
  row_count: z.number().int().describe("Rows the statement returned (also those not included)."),
  truncated: z.boolean(),
});

const outputs = {
  list_connections: z.object({
    connections: z.array(
      z.object({
        name: z.string(),
        protocol: z.string(),
        labels: z.record(z.string(), z.string()),
        tools: z.array(z.string()),
      }),
    ),
  }),
  describe_connection: z.object({
    connection: z.string(),
    tables: z.array(
      z.object({
        schema: z.string(),
        name: z.string(),
        type: z.string(),
        columns: z.array(
          z.object({
            name: z.string(),
            type: z.string(),
            nullable: z.boolean(),
            masked: z.boolean(),
            mask_rules: z.array(z.string()).optional(),
            mask_strategy: z.string().optional(),
          }),
        ),
      }),
    ),
    detectors: z.array(z.string()).describe("Value detectors that mask matching values in any column."),
    truncated: z.boolean(),
    note: z.string().optional(),
  }),
  query: z.object({
    connection: z.string(),
    results: z.array(statementResult),
    truncated: z.boolean(),
    note: z.string().optional(),
  }),
  approval_status: z.object({
    request_id: z.string(),
    approvals_enabled: z.boolean(),
    status: z.string(),
    message: z.string(),
  }),
} as const;

export type ToolOutput<T extends ToolName> = z.infer<(typeof outputs)[T]>;

/** JSON Schema as MCP carries it (no `$schema`: clients validate with their own draft). */
type JsonSchemaObject = { type: "object"; [key: string]: unknown };

function jsonSchema(schema: z.ZodType): JsonSchemaObject {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return { ...rest, type: "object" };
}

export interface ToolSpec {
  readonly name: ToolName;
  readonly title: string;
  readonly description: string;
  /** `connection`: the call names a connection and is judged against it. */
  readonly scope: "gateway" | "connection";
  readonly input: z.ZodType;
  readonly inputSchema: JsonSchemaObject;
  readonly outputSchema: JsonSchemaObject;
  readonly annotations: {
    readonly readOnlyHint: boolean;
    readonly destructiveHint: boolean;
    readonly idempotentHint: boolean;
    readonly openWorldHint: boolean;
  };
}

function spec(
  name: ToolName,
  title: string,
  description: string,
  scope: ToolSpec["scope"],
  readOnly: boolean,
): ToolSpec {
  return {
    name,
    title,
    description,
    scope,
    input: inputs[name],
    inputSchema: jsonSchema(inputs[name]),
    outputSchema: jsonSchema(outputs[name]),
    annotations: {
      readOnlyHint: readOnly,
      destructiveHint: !readOnly,
      idempotentHint: readOnly,
      openWorldHint: false,
    },
  };
}

/** Every tool, in the order `tools/list` shows them. */
export const TOOLS: ReadonlyMap<string, ToolSpec> = new Map(
  [
    spec(
      "list_connections",
      "List connections",
      "Connections you may use through this gateway, with their labels and the tools that work on each.",
      "gateway",
      true,
    ),
    spec(
      "describe_connection",
      "Describe a connection",
      "Schemas, tables and columns of a PostgreSQL connection, as your database role sees them. Columns whose values the gateway masks for you are marked `masked`.",
      "connection",
      true,
    ),
    spec(
      "query",
      "Run SQL",
      "Runs SQL on a PostgreSQL connection through the gateway: the same policy, masking and audit as psql. Returns columns and rows (text format), capped; a denied statement returns the policy's reason.",
      "connection",
      false,
    ),
    spec(
      "approval_status",
      "Approval status",
      "The state of an approval request a pending result named.",
      "gateway",
      true,
    ),
  ].map((t) => [t.name, t]),
);
