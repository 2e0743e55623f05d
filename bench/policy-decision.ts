/**
 * Micro-benchmark: one policy decision over a realistic 50-rule bundle, in microseconds.
 * `npm run bench` runs it through `runPolicyDecisionBench`; standalone: npx tsx bench/policy-decision.ts
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { Action, Principal } from "../src/core/index.ts";
import { compilePolicyBundle } from "../src/policy/index.ts";

/** Issue #3: a policy decision over a 50-rule bundle takes under 20 µs. */
export const POLICY_DECISION_TARGET_MICROS = 20;

function rules(): string {
  const out: string[] = ["apiVersion: sluice/v1", "rules:"];
  const rule = (lines: string[]) => out.push(...lines.map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`)));
  // Postgres: the bulk of a real bundle.
  rule([
    "id: pg-unparsed",
    "match: { protocols: [postgres] }",
    "when: '!sql.parsed || sql.dynamic'",
    "effect: deny",
  ]);
  rule([
    "id: pg-no-drop-prod",
    "match: { protocols: [postgres], connections: { labels: { env: prod } } }",
    `when: '"drop" in sql.kinds || "truncate" in sql.kinds'`,
    "effect: deny",
    'reason: "DROP and TRUNCATE are not allowed on {{connection.name}}"',
  ]);
  rule([
    "id: pg-unfiltered-writes",
    "match: { protocols: [postgres] }",
    "when: size(sql.unfiltered_writes) > 0",
    "effect: deny",
  ]);
  rule([
    "id: pg-settings",
    "match: { protocols: [postgres] }",
    `when: '"search_path" in sql.settings || "role" in sql.settings'`,
    "effect: deny",
  ]);
  rule([
    "id: pg-copy-file",
    "match: { protocols: [postgres] }",
    `when: '"copy_file" in sql.kinds'`,
    "effect: deny",
  ]);
  rule([
    "id: pg-read",
    "match: { protocols: [postgres], groups: [engineers, analysts, dba] }",
    `when: 'sql.kinds.all(k, k == "select" || k == "show" || k == "explain")'`,
    "effect: allow",
  ]);
  rule([
    "id: pg-write-dev",
    "match: { protocols: [postgres], connections: [pg-dev, pg-staging-*], groups: [engineers] }",
    "effect: allow",
  ]);
  rule([
    "id: pg-write-prod-approval",
    "match: { protocols: [postgres], connections: { labels: { env: prod } }, groups: [engineers] }",
    `when: 'sql.kinds.exists(k, k in ["insert", "update", "delete"])'`,
    "effect: approve",
    "approval: { reviewers: [dba], min_approvals: 1, ttl: 1h }",
  ]);
  rule(["id: pg-dba", "match: { protocols: [postgres], groups: [dba] }", "effect: allow"]);
  rule([
    "id: pg-mask-email",
    "match: { protocols: [postgres], connections: { labels: { env: prod } } }",
    `when: '"customers" in sql.tables || "public.customers" in sql.tables'`,
    "effect: mask",
    "mask: { columns: [customers.email, customers.phone], detectors: [email], strategy: redact }",
  ]);
  for (let i = 0; i < 20; i++) {
    rule([
      `id: pg-team-${i}`,
      `match: { protocols: [postgres], connections: ["pg-team-${i}-*"], groups: [team-${i}] }`,
      `when: 'sql.tables.all(t, t.startsWith("team_${i}.")) && time.hour >= 6'`,
      "effect: allow",
    ]);
  }
  rule([
    "id: pg-agents-read-only",
    "match: { protocols: [postgres], principal_kind: [agent] }",
    `when: 'sql.writes.size() > 0'`,
    "effect: deny",
    'reason: "agents acting for {{principal.on_behalf_of.user}} may not write"',
  ]);
  rule([
    "id: pg-night-shadow",
    "mode: shadow",
    "match: { protocols: [postgres], connections: { labels: { env: prod } } }",
    "when: time.hour < 6 || time.weekday == 0",
    "effect: deny",
  ]);
  for (let i = 0; i < 4; i++) {
    rule([
      `id: pg-re2-${i}`,
      "match: { protocols: [postgres], users: ['*@contractor.example'] }",
      `when: 'sql.tables.exists(t, re2(t, "^(hr|payroll)_${i}\\\\."))'`,
      "effect: deny",
    ]);
  }
  // Other protocols.
  for (let i = 0; i < 6; i++) {
    rule([
      `id: k8s-${i}`,
      "match: { protocols: [kubernetes] }",
      `when: 'k8s.verb in ["delete", "deletecollection"] && k8s.namespace == "ns-${i}"'`,
      "effect: deny",
    ]);
  }
  for (let i = 0; i < 5; i++) {
    rule([
      `id: ssh-${i}`,
      "match: { protocols: [ssh], groups: [ops] }",
      `when: 'ssh.argv.size() > 0 && ssh.argv[0] in ["rm", "shutdown"]'`,
      "effect: deny",
    ]);
  }
  rule([
    "id: mcp-read",
    "match: { protocols: [mcp] }",
    `when: 'mcp.tool.startsWith("read_")'`,
    "effect: allow",
  ]);
  rule([
    "id: any-break-glass",
    "match: { groups: [break-glass] }",
    "effect: approve",
    "approval: { reviewers: [security], min_approvals: 2, ttl: 15m }",
  ]);
  rule(["id: any-blocked-user", "match: { users: [mallory@corp.example] }", "effect: deny"]);
  return `${out.join("\n")}\n`;
}

const alice: Principal = { user: "alice@corp.example", groups: ["engineers", "team-3"], kind: "human" };
const connection = { name: "pg-prod", protocol: "postgres", labels: { env: "prod" } };
function sqlAction(kinds: string[], tables: string[], writes: string[] = []): Action {
  return {
    kind: "sql.statement",
    protocol: "postgres",
    text: "...",
    sessionId: "s1",
    principal: alice,
    connection,
    facts: {
      sql: {
        parsed: true,
        dynamic: false,
        kinds,
        statement_kind: kinds[0] ?? "unknown",
        tables,
        writes,
        unfiltered_writes: [],
        functions: [],
        columns: [],
        settings: [],
        prepared_name: null,
        statements: 1,
      },
    },
  };
}

export interface DecisionTiming {
  readonly name: string;
  /** True when every action carried fresh principal and connection objects (no match cache hit). */
  readonly freshPrincipal: boolean;
  readonly microsPerDecision: number;
  readonly effect: string;
  readonly ruleIds: readonly string[];
}

export interface PolicyDecisionBench {
  readonly ruleCount: number;
  /** Timed decisions per case (after a warm-up of a tenth as many). */
  readonly iterations: number;
  readonly cases: readonly DecisionTiming[];
  /** The slowest case, judged against `POLICY_DECISION_TARGET_MICROS`. */
  readonly worstMicros: number;
  readonly pass: boolean;
}

/** Compiles the 50-rule bundle and times `decide` for each case; takes a few seconds. */
export function runPolicyDecisionBench(options: { readonly iterations?: number } = {}): PolicyDecisionBench {
  const iterations = options.iterations ?? 200_000;
  const bundle = compilePolicyBundle([{ path: "bench.yaml", text: rules() }], {
    clock: () => new Date("2024-05-06T10:30:00Z"),
    timeZone: "Europe/Berlin",
  });
  if (bundle.rules.length !== 50) throw new Error(`expected 50 rules, got ${bundle.rules.length}`);

  const measure = (name: string, freshPrincipal: boolean, next: () => Action): DecisionTiming => {
    for (let i = 0; i < iterations / 10; i++) bundle.decide(next());
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) bundle.decide(next());
    const microsPerDecision = Number(process.hrtime.bigint() - start) / 1000 / iterations;
    const d = bundle.decide(next());
    return { name, freshPrincipal, microsPerDecision, effect: d.effect, ruleIds: d.ruleIds };
  };

  const actions: [string, Action][] = [
    ["select customers", sqlAction(["select"], ["public.customers"])],
    ["update orders (approval)", sqlAction(["update"], ["public.orders"], ["public.orders"])],
    ["drop table (deny)", sqlAction(["drop"], ["public.orders"])],
  ];
  const cases: DecisionTiming[] = [];
  for (const [name, action] of actions) {
    // Session steady state: the principal and connection objects are reused across actions.
    cases.push(measure(name, false, () => action));
  }
  for (const [name, action] of actions) {
    // Worst case: a fresh principal and connection object for every action (no match cache hit).
    cases.push(
      measure(`${name}, fresh principal`, true, () => ({
        ...action,
        principal: { ...alice },
        connection: { ...connection },
      })),
    );
  }
  const worstMicros = Math.max(...cases.map((c) => c.microsPerDecision));
  return {
    ruleCount: bundle.rules.length,
    iterations,
    cases,
    worstMicros,
    pass: worstMicros < POLICY_DECISION_TARGET_MICROS,
  };
}

/** The verdict line for the issue #3 target. */
export function policyDecisionVerdict(result: PolicyDecisionBench): string {
  return `policy decision, ${result.ruleCount}-rule bundle: slowest case ${result.worstMicros.toFixed(2)} µs/decision (issue #3 target: under ${POLICY_DECISION_TARGET_MICROS} µs) ${result.pass ? "PASS" : "MISSED"}`;
}

/** Plain-text lines, one per case, then the verdict. */
export function formatPolicyDecisionBench(result: PolicyDecisionBench): string[] {
  return [
    `${result.ruleCount}-rule bundle, ${process.version}, ${result.iterations} decisions per case`,
    ...result.cases.map(
      (c) =>
        `${c.name.padEnd(44)} ${c.microsPerDecision.toFixed(2).padStart(6)} µs/decision  → ${c.effect} (${c.ruleIds.join(", ")})`,
    ),
    policyDecisionVerdict(result),
  ];
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  for (const line of formatPolicyDecisionBench(runPolicyDecisionBench())) console.log(line);
}
