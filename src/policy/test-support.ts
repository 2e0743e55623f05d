/** Builders shared by the policy tests (not used by production code). */
import type { Action, ConnectionInfo, FactValue, Principal } from "../core/index.ts";
import type { PolicyBundle } from "./bundle.ts";
import { type CompileOptions, compilePolicyBundle } from "./compile.ts";

export const FIXED_CLOCK = () => new Date("2024-05-06T10:30:00Z"); // a Monday

export function bundleOf(rulesYaml: string, options: CompileOptions = {}): PolicyBundle {
  return compilePolicyBundle([{ path: "test.yaml", text: `apiVersion: sluice/v1\nrules:\n${rulesYaml}` }], {
    clock: FIXED_CLOCK,
    ...options,
  });
}

export const alice: Principal = { user: "alice@corp.example", groups: ["engineers"], kind: "human" };
export const pgProd: ConnectionInfo = { name: "pg-prod", protocol: "postgres", labels: { env: "prod" } };

export function sqlFacts(overrides: Record<string, FactValue> = {}): Record<string, FactValue> {
  return {
    parsed: true,
    dynamic: false,
    kinds: ["select"],
    statement_kind: "select",
    tables: ["public.users"],
    writes: [],
    unfiltered_writes: [],
    functions: [],
    columns: [],
    settings: [],
    prepared_name: null,
    statements: 1,
    ...overrides,
  };
}

export function sqlAction(
  facts: Record<string, FactValue> = {},
  overrides: { principal?: Principal; connection?: ConnectionInfo; protocol?: string } = {},
): Action {
  return {
    kind: "sql.statement",
    protocol: overrides.protocol ?? "postgres",
    text: "SELECT 1",
    facts: { sql: sqlFacts(facts) },
    principal: overrides.principal ?? alice,
    connection: overrides.connection ?? pgProd,
    sessionId: "session-1",
  };
}
