import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import type { ProfileSummary } from "./cpu-profile.ts";
import type { PgbenchResult, ProtocolMode } from "./pgbench-runner.ts";
import { type PolicyDecisionBench, policyDecisionVerdict } from "./policy-decision.ts";
import type { SqlAnalysisTiming } from "./sql-analysis.ts";

export const DIRECT = "postgres (direct)";
export const PGBOUNCER = "pgbouncer (session)";
export const SLUICE_TLS = "sluice (TLS)";
export const SLUICE_PLAIN = "sluice (no TLS, loopback)";
export const SLUICE_TLS_NO_RECORDING = "sluice (TLS, recording off)";

export interface Row {
  readonly target: string;
  readonly script: string;
  readonly mode: ProtocolMode;
  readonly clients: number;
  readonly threads: number;
  readonly result?: PgbenchResult;
  readonly error?: string;
  /** CPU time the proxy process spent per transaction, when its process could be read. */
  readonly proxyCpuMicrosPerTxn?: number;
}

export interface Machine {
  readonly date: string;
  readonly nproc: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly postgres: string;
  readonly pgbench: string;
  readonly pgbouncer: string;
}

export function describeMachine(versions: { postgres: string; pgbench: string; pgbouncer: string }): Machine {
  let cpu = cpus()[0]?.model ?? "unknown";
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpu;
  } catch {
    // keep os.cpus()'s answer
  }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    nproc: cpus().length,
    cpu,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `Linux ${release()}`,
    node: process.version,
    ...versions,
  };
}

const same = (a: Row, b: Row): boolean =>
  a.script === b.script && a.mode === b.mode && a.clients === b.clients;

function peer(rows: readonly Row[], row: Row, target: string): PgbenchResult | undefined {
  return rows.find((r) => r.target === target && same(r, row))?.result;
}

const fmt = (n: number | undefined, digits: number): string => (n === undefined ? "–" : n.toFixed(digits));

/** A padded Markdown table: readable in a terminal and rendered in RESULTS.md. */
export function markdownTable(
  header: readonly string[],
  body: readonly (readonly string[])[],
  right: Set<number>,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (right.has(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
  return [line(header), rule, ...body.map(line)].join("\n");
}

export function resultsTable(rows: readonly Row[]): string {
  const header = [
    "target",
    "script",
    "mode",
    "clients",
    "TPS",
    "mean latency ms",
    "vs direct TPS",
    "vs pgbouncer TPS",
    "added latency vs direct µs (-c 1)",
    "proxy CPU µs/txn",
  ];
  const body = rows.map((row) => {
    if (!row.result) {
      return [
        row.target,
        row.script,
        row.mode,
        `${row.clients}`,
        `FAILED: ${row.error ?? "?"}`,
        "",
        "",
        "",
        "",
        "",
      ];
    }
    const direct = peer(rows, row, DIRECT);
    const bouncer = peer(rows, row, PGBOUNCER);
    const r = row.result;
    return [
      row.target,
      row.script,
      row.mode,
      `${row.clients}`,
      fmt(r.tps, 0),
      fmt(r.latencyMs, 3),
      direct ? `${fmt(r.tps / direct.tps, 2)}x` : "–",
      bouncer ? `${fmt(r.tps / bouncer.tps, 2)}x` : "–",
      direct && row.clients === 1 && row.target !== DIRECT
        ? fmt((r.latencyMs - direct.latencyMs) * 1000, 0)
        : "",
      fmt(row.proxyCpuMicrosPerTxn, 1),
    ];
  });
  return markdownTable(header, body, new Set([3, 4, 5, 6, 7, 8, 9]));
}

/** The lead's targets for Sluice with TLS: ≥0.5x direct and ≥0.7x pgbouncer TPS at -c 8; <150 µs added at -c 1. */
export function verdicts(rows: readonly Row[]): { lines: string[]; missed: boolean } {
  const lines: string[] = [];
  let missed = false;
  for (const target of [SLUICE_TLS, SLUICE_PLAIN]) {
    for (const row of rows.filter((r) => r.target === target && r.result)) {
      const r = row.result!;
      const direct = peer(rows, row, DIRECT);
      const bouncer = peer(rows, row, PGBOUNCER);
      const checks: string[] = [];
      if (row.clients > 1) {
        if (direct)
          checks.push(
            `${fmt(r.tps / direct.tps, 2)}x direct (target ≥0.50) ${r.tps / direct.tps >= 0.5 ? "ok" : "MISSED"}`,
          );
        if (bouncer)
          checks.push(
            `${fmt(r.tps / bouncer.tps, 2)}x pgbouncer (target ≥0.70) ${r.tps / bouncer.tps >= 0.7 ? "ok" : "MISSED"}`,
          );
      } else if (direct) {
        const added = (r.latencyMs - direct.latencyMs) * 1000;
        checks.push(`+${fmt(added, 0)} µs mean latency (target <150) ${added < 150 ? "ok" : "MISSED"}`);
      }
      if (checks.some((c) => c.endsWith("MISSED")) && target === SLUICE_TLS) missed = true;
      if (checks.length)
        lines.push(`- ${target}, ${row.script}, -M ${row.mode}, -c ${row.clients}: ${checks.join("; ")}`);
    }
  }
  return { lines, missed };
}

/** The in-process micro-benchmarks: policy decisions (with the issue #3 verdict) and SQL analysis. */
export function microBenchSection(policy: PolicyDecisionBench, sql: readonly SqlAnalysisTiming[]): string {
  return [
    `Micro-benchmarks (in the bench process, before any server starts; \`npx tsx bench/policy-decision.ts\` and \`npx tsx bench/sql-analysis.ts\` run them alone):`,
    "",
    `Policy decision over a ${policy.ruleCount}-rule bundle (\`PolicyBundle.decide\`, ${policy.iterations} decisions per case; "fresh principal": new principal and connection objects for every action, so the per-session match cache never hits):`,
    "",
    markdownTable(
      ["case", "µs/decision", "decision"],
      policy.cases.map((c) => [c.name, fmt(c.microsPerDecision, 2), `${c.effect} (${c.ruleIds.join(", ")})`]),
      new Set([1]),
    ),
    "",
    `- ${policyDecisionVerdict(policy)}`,
    "",
    "SQL analysis (`StatementCache.analyse` / `analyseSql`; simple = a pgbench point select, complex = a CTE with joins, a lateral join and a subquery):",
    "",
    markdownTable(
      ["statement", "measure", "µs/op", "ops"],
      sql.map((t) => [t.statement, t.measure, fmt(t.microsPerOp, 2), `${t.ops}`]),
      new Set([2, 3]),
    ),
  ].join("\n");
}

export function profileSection(summary: ProfileSummary, load: string): string {
  const pct = (n: number): string => `${n.toFixed(1)}%`;
  return [
    `CPU profile of the gateway child (\`node --cpu-prof\`) under ${load}: ${(summary.sampledMs / 1000).toFixed(1)} s sampled (gateway start-up included), event loop idle ${pct(summary.idlePct)} of it. Shares below are of the busy (non-idle) time.`,
    "",
    "Top functions by self time:",
    "",
    markdownTable(
      ["self", "total", "function", "where", "main project caller"],
      summary.topSelf.map((e) => [pct(e.selfPct), pct(e.totalPct), e.name, e.where, e.caller]),
      new Set([0, 1]),
    ),
    "",
    "Self time by area:",
    "",
    markdownTable(
      ["self", "area"],
      summary.byArea.map((a) => [pct(a.selfPct), a.area]),
      new Set([0]),
    ),
    "",
    "Project functions by inclusive time (callees included):",
    "",
    markdownTable(
      ["total", "self", "function", "where"],
      summary.topInclusive.map((e) => [pct(e.totalPct), pct(e.selfPct), e.name, e.where]),
      new Set([0, 1]),
    ),
  ].join("\n");
}

export function machineLines(m: Machine): string[] {
  return [
    `- date: ${m.date}`,
    `- machine: ${m.nproc} cores (${m.cpu}), ${m.memoryGiB} GiB memory, ${m.kernel}`,
    `- Node ${m.node}; ${m.postgres}; ${m.pgbench}; ${m.pgbouncer}`,
  ];
}

const START = "<!-- bench:start -->";
const END = "<!-- bench:end -->";

const DEFAULT_HEAD = `# End-to-end benchmark: Sluice vs direct PostgreSQL vs pgbouncer

\`npm run bench\` starts a private PostgreSQL, loads it with \`pgbench -i\`, starts pgbouncer (session
pooling) and the Sluice gateway (each in its own process, full enforcement: policy bundle with deny,
allow, approve and mask rules, audit to SQLite) and runs pgbench against each, one after another.
First, also in quick mode, it runs two in-process micro-benchmarks: a policy decision over a 50-rule
bundle (target: under 20 µs) and SQL analysis. \`BENCH_SECONDS=N\` sets the length of each run
(default 10), \`BENCH_SCALE\` the pgbench scale (default 10), \`BENCH_QUICK=1\` runs a 3 s smoke check
(select-only, simple protocol, 8 clients) and does not touch this file, and \`BENCH_PROFILE=1|0\`
forces or skips the gateway CPU profile (default: profile when a target is missed).

Everything below the marker is generated by the last full run.

`;

/** Replaces the generated section of RESULTS.md, keeping the hand-written text around it. */
export function writeResults(path: string, generated: string): void {
  const block = `${START}\n${generated.trim()}\n${END}`;
  const text = existsSync(path) ? readFileSync(path, "utf8") : `${DEFAULT_HEAD}${START}\n${END}\n`;
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const next =
    start >= 0 && end > start
      ? `${text.slice(0, start)}${block}${text.slice(end + END.length)}`
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}
