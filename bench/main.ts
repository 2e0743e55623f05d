/**
 * End-to-end throughput and latency: pgbench against direct PostgreSQL, pgbouncer and the
 * Sluice gateway (own process, full enforcement), after two in-process micro-benchmarks (policy
 * decisions over a 50-rule bundle, SQL analysis). `npm run bench`; see bench/RESULTS.md.
 * Env: BENCH_SECONDS (per run, default 10), BENCH_SCALE (default 10), BENCH_QUICK=1 (smoke
 * check), BENCH_PROFILE=1|0|auto (gateway CPU profile; auto = when a target is missed).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startPostgres } from "../test/harness/postgres-server.ts";
import { findProfile, type ProfileSummary, summariseProfile } from "./cpu-profile.ts";
import { type GatewayChild, startGatewayChild } from "./gateway-child.ts";
import { writeGatewayConfig } from "./gateway-config.ts";
import {
  formatMaskedResultBench,
  MASKED_RESULT_SETUP,
  type MaskedResultBench,
  runMaskedResultBench,
} from "./masked-result.ts";
import {
  type Endpoint,
  initPgbench,
  type PgbenchRun,
  type ProtocolMode,
  runPgbench,
} from "./pgbench-runner.ts";
import { ensurePgbouncer, type RunningPgbouncer, startPgbouncer } from "./pgbouncer.ts";
import { formatPolicyDecisionBench, runPolicyDecisionBench } from "./policy-decision.ts";
import { cpuMicros } from "./proc-stats.ts";
import {
  DIRECT,
  describeMachine,
  machineLines,
  microBenchSection,
  PGBOUNCER,
  profileSection,
  type Row,
  resultsTable,
  SLUICE_PLAIN,
  SLUICE_TLS,
  SLUICE_TLS_NO_RECORDING,
  verdicts,
  writeResults,
} from "./report.ts";
import { formatSqlAnalysisBench, runSqlAnalysisBench } from "./sql-analysis.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "..");
const quick = process.env.BENCH_QUICK === "1";
const seconds = Math.max(1, Math.min(600, Number(process.env.BENCH_SECONDS) || (quick ? 3 : 10)));
const scale = Math.max(1, Math.min(100, Number(process.env.BENCH_SCALE) || 10));
const profileMode = process.env.BENCH_PROFILE ?? (quick ? "0" : "auto");
const DB = "bench";
const DB_USER = "app";
const DB_PASSWORD = "bench-app-password";
const BENCH_USER = "bench@corp.example";
const BENCH_GROUPS = ["engineers"];

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

interface Target {
  readonly name: string;
  readonly endpoint: Endpoint;
  /** The proxy's own process, for CPU time per transaction. */
  readonly pid?: () => number | undefined;
}

const cleanups: (() => Promise<void>)[] = [];
async function cleanup(): Promise<void> {
  while (cleanups.length) {
    try {
      await cleanups.pop()!();
    } catch (error) {
      log(`cleanup: ${String(error)}`);
    }
  }
}

async function measure(target: Target, label: string, run: PgbenchRun): Promise<Row> {
  const pid = target.pid?.();
  const cpuBefore = cpuMicros(pid);
  try {
    const result = await runPgbench(target.endpoint, run);
    const cpuAfter = cpuMicros(pid);
    const proxyCpu =
      cpuBefore !== undefined && cpuAfter !== undefined && result.transactions > 0
        ? (cpuAfter - cpuBefore) / result.transactions
        : undefined;
    return {
      target: target.name,
      script: label,
      mode: run.mode,
      clients: run.clients,
      threads: run.threads,
      result,
      ...(proxyCpu === undefined ? {} : { proxyCpuMicrosPerTxn: proxyCpu }),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      target: target.name,
      script: label,
      mode: run.mode,
      clients: run.clients,
      threads: run.threads,
      error: message,
    };
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const work = mkdtempSync(join(tmpdir(), "sluice-bench-"));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
  log(`sluice bench: ${quick ? "QUICK smoke check, " : ""}${seconds} s per run, scale ${scale}`);

  // In-process micro-benchmarks first, while no server competes for the CPU (a few seconds each).
  log("micro-benchmark: policy decision");
  const policyBench = runPolicyDecisionBench();
  for (const line of formatPolicyDecisionBench(policyBench)) log(`  ${line}`);
  log("micro-benchmark: SQL analysis");
  const sqlBench = await runSqlAnalysisBench();
  for (const line of formatSqlAnalysisBench(sqlBench)) log(`  ${line}`);

  const pg = await startPostgres();
  cleanups.push(() => pg.stop());
  const admin = await pg.admin();
  await admin.query(`CREATE ROLE ${DB_USER} LOGIN PASSWORD '${DB_PASSWORD}'`);
  await admin.query(`CREATE DATABASE ${DB} OWNER ${DB_USER}`);
  const pgVersion = `PostgreSQL ${(await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version}`;
  await admin.end();
  const direct: Endpoint = {
    host: pg.host,
    port: pg.port,
    dbname: DB,
    user: DB_USER,
    password: DB_PASSWORD,
    sslmode: "disable",
  };
  const initStart = Date.now();
  await initPgbench(direct, scale);
  log(
    `PostgreSQL on 127.0.0.1:${pg.port}; pgbench -i -s ${scale} took ${((Date.now() - initStart) / 1000).toFixed(1)} s`,
  );

  const targets: Target[] = [{ name: DIRECT, endpoint: direct }];
  const notes: string[] = [
    "Direct PostgreSQL with sslmode=require is not measured: the private test server runs without TLS (no certificate), so the direct and pgbouncer rows are plaintext. `sluice (TLS)` therefore includes TLS costs the baselines do not pay; `sluice (no TLS, loopback)` is the like-for-like row.",
  ];

  let bouncer: RunningPgbouncer | undefined;
  const pgbouncer = ensurePgbouncer(log);
  if ("path" in pgbouncer) {
    bouncer = await startPgbouncer({
      binary: pgbouncer.path,
      pgPort: pg.port,
      database: DB,
      user: DB_USER,
      password: DB_PASSWORD,
    });
    cleanups.push(() => bouncer!.stop());
    targets.push({ name: PGBOUNCER, endpoint: { ...direct, port: bouncer.port }, pid: () => bouncer?.pid() });
    log(`${bouncer.version} (session pooling) on 127.0.0.1:${bouncer.port}`);
  } else {
    notes.push(`pgbouncer rows skipped: ${pgbouncer.skipped}.`);
    log(`pgbouncer rows skipped: ${pgbouncer.skipped}`);
  }

  const gateways: { name: string; child: GatewayChild }[] = [];
  const startSluice = async (
    name: string,
    allowPlaintext: boolean,
    cpuProfileDir?: string,
    recordings = true,
  ): Promise<Target> => {
    const { dir, configPath } = writeGatewayConfig({
      pgPort: pg.port,
      database: DB,
      user: DB_USER,
      password: DB_PASSWORD,
      recordings,
    });
    const child = await startGatewayChild({
      configPath,
      allowPlaintext,
      user: BENCH_USER,
      groups: BENCH_GROUPS,
      ...(cpuProfileDir ? { cpuProfileDir } : {}),
    });
    cleanups.push(async () => {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    gateways.push({ name, child });
    log(`${name}: gateway child pid ${child.pid} on 127.0.0.1:${child.port}`);
    const endpoint: Endpoint = {
      host: "127.0.0.1",
      port: child.port,
      dbname: "pg-prod",
      user: BENCH_USER,
      password: child.token,
      sslmode: allowPlaintext ? "disable" : "require",
    };
    return { name, endpoint, pid: () => child.pid };
  };
  targets.push(await startSluice(SLUICE_TLS, false));
  targets.push(await startSluice(SLUICE_PLAIN, true));

  const customScript = join(work, "point-select.sql");
  writeFileSync(
    customScript,
    "\\set aid random(1, 100000 * :scale)\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n",
  );
  const scripts: { label: string; script: PgbenchRun["script"] }[] = [
    { label: "select-only (-S)", script: "builtin-select" },
    ...(quick ? [] : [{ label: "point-select (custom)", script: { file: customScript, scale } }]),
  ];
  const modes: ProtocolMode[] = quick ? ["simple"] : ["simple", "extended", "prepared"];
  const loads = quick
    ? [{ clients: 8, threads: 2 }]
    : [
        { clients: 1, threads: 1 },
        { clients: 8, threads: 2 },
      ];

  const warmup = quick ? 1 : 2;
  for (const target of targets) {
    const row = await measure(target, "warm-up", {
      script: "builtin-select",
      mode: "simple",
      clients: 8,
      threads: 2,
      seconds: warmup,
    });
    log(`warm-up ${target.name}: ${row.result ? `${row.result.tps.toFixed(0)} tps` : `FAILED ${row.error}`}`);
  }

  const rows: Row[] = [];
  const total = scripts.length * modes.length * loads.length * targets.length;
  for (const { label, script } of scripts) {
    for (const load of loads) {
      for (const mode of modes) {
        // Targets back to back for each configuration, so slow drift hits them alike.
        for (const target of targets) {
          const row = await measure(target, label, { script, mode, ...load, seconds });
          rows.push(row);
          const r = row.result;
          log(
            `[${rows.length}/${total}] ${target.name.padEnd(26)} ${label.padEnd(22)} -M ${mode.padEnd(8)} -c ${load.clients}: ${
              r
                ? `${r.tps.toFixed(0).padStart(6)} tps, ${r.latencyMs.toFixed(3)} ms${r.failed ? `, ${r.failed} failed` : ""}`
                : `FAILED ${row.error}`
            }`,
          );
        }
      }
    }
  }

  // Recording on vs off: the same TLS gateway configuration with and without session recording,
  // alternated so drift hits both alike.
  const recordingRows: { mode: ProtocolMode; on: number; off: number }[] = [];
  {
    const on = targets.find((t) => t.name === SLUICE_TLS)!;
    const off = await startSluice(SLUICE_TLS_NO_RECORDING, false, undefined, false);
    for (const mode of ["simple", "extended"] as const) {
      const tps = { on: [] as number[], off: [] as number[] };
      for (let round = 0; round < (quick ? 1 : 3); round++) {
        for (const [key, target] of [
          ["on", on],
          ["off", off],
        ] as const) {
          const row = await measure(target, "recording", {
            script: "builtin-select",
            mode,
            clients: 8,
            threads: 2,
            seconds,
          });
          if (row.result) tps[key].push(row.result.tps);
        }
      }
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
      recordingRows.push({ mode, on: median(tps.on), off: median(tps.off) });
      log(`recording ${mode}: on ${median(tps.on).toFixed(0)} tps, off ${median(tps.off).toFixed(0)} tps`);
    }
  }

  log("masked result: 100,000 rows through the plaintext gateway, masked vs unmasked");
  let maskedBench: MaskedResultBench | undefined;
  try {
    const owner = new (await import("pg")).default.Client({
      host: direct.host,
      port: direct.port,
      database: DB,
      user: DB_USER,
      password: DB_PASSWORD,
    });
    await owner.connect();
    await owner.query(MASKED_RESULT_SETUP);
    await owner.end();
    const plain = targets.find((t) => t.name === SLUICE_PLAIN)!;
    maskedBench = await runMaskedResultBench(direct, plain.endpoint, quick ? 3 : 7);
    for (const line of formatMaskedResultBench(maskedBench)) log(`  ${line}`);
  } catch (error) {
    notes.push(
      `The masked-result benchmark failed: ${error instanceof Error ? error.message : String(error)}.`,
    );
  }

  const rss = gateways.map(({ name, child }) => {
    const kib = child.peakRssKiB();
    return `- ${name}: gateway child peak RSS (VmHWM) ${kib === undefined ? "unreadable" : `${(kib / 1024).toFixed(1)} MiB`}`;
  });
  const verdict = verdicts(rows);

  let profile: { summary: ProfileSummary; load: string; tps: string } | undefined;
  if (profileMode === "1" || (profileMode === "auto" && verdict.missed)) {
    const profileDir = join(work, "cpu-profile");
    const target = await startSluice(`${SLUICE_TLS} profiled`, false, profileDir);
    const profSeconds = Math.max(5, seconds);
    const load = `pgbench -S -c 8 -j 2, -M simple then -M extended, ${profSeconds} s each, TLS`;
    log(`profiling the gateway: ${load}`);
    const tps: string[] = [];
    for (const mode of ["simple", "extended"] as const) {
      const row = await measure(target, "profile", {
        script: "builtin-select",
        mode,
        clients: 8,
        threads: 2,
        seconds: profSeconds,
      });
      tps.push(`${mode} ${row.result ? `${row.result.tps.toFixed(0)} tps` : `failed (${row.error})`}`);
    }
    await gateways.at(-1)!.child.stop();
    const file = findProfile(profileDir);
    if (file) profile = { summary: summariseProfile(file, repoRoot), load, tps: tps.join(", ") };
    else notes.push("The CPU profile was requested but no .cpuprofile was written.");
  }

  const machine = describeMachine({
    postgres: pgVersion,
    pgbench: execFileSync("pgbench", ["--version"]).toString().trim(),
    pgbouncer: bouncer?.version ?? "pgbouncer not available",
  });
  await cleanup();

  const table = resultsTable(rows);
  const settings = `Each run: \`pgbench -n -T ${seconds}\`, scale ${scale}; \`-c 1 -j 1\` and \`-c 8 -j 2\`; targets run back to back per configuration after a ${warmup} s warm-up each. Sluice: own Node process, policy bundle of 11 rules (6 deny, allow, approve, 2 mask), audit to SQLite, user ${BENCH_USER} in group ${BENCH_GROUPS.join(",")}. pgbench, PostgreSQL, the proxies and this script share the ${machine.nproc} cores. "proxy CPU µs/txn" is the proxy process's user+system CPU time (all threads) per transaction.`;
  const sections = [
    ...machineLines(machine),
    "",
    settings,
    "",
    table,
    "",
    ...rss,
    "",
    ...notes.map((n) => `- ${n}`),
    "",
    "Targets for Sluice (TLS is the production row; ≥0.5x direct and ≥0.7x pgbouncer TPS at -c 8, <150 µs added mean latency at -c 1):",
    "",
    ...verdict.lines,
    "",
    ...recordingSection(recordingRows),
    "",
    ...(maskedBench ? formatMaskedResultBench(maskedBench) : []),
    "",
    microBenchSection(policyBench, sqlBench),
  ];
  if (profile)
    sections.push(
      "",
      `Profiled run throughput: ${profile.tps}.`,
      "",
      profileSection(profile.summary, profile.load),
    );
  const text = sections.join("\n");
  log("");
  log(text);
  log("");
  log(`bench finished in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (quick && process.env.BENCH_WRITE !== "1") {
    log("quick mode: bench/RESULTS.md left unchanged (BENCH_WRITE=1 to write it)");
  } else {
    writeResults(join(here, "RESULTS.md"), text);
    log("wrote bench/RESULTS.md");
  }
  if (rows.some((r) => !r.result)) process.exitCode = 1;
}

let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) return;
  interrupted = true;
  log("interrupted: stopping servers");
  cleanup().then(
    () => process.exit(130),
    () => process.exit(130),
  );
});

try {
  await main();
} catch (error) {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
} finally {
  await cleanup();
}

/** Session recording's cost: pgbench -S TPS through the TLS gateway with recording on and off. */
function recordingSection(rows: readonly { mode: ProtocolMode; on: number; off: number }[]): string[] {
  if (rows.length === 0) return [];
  const lines = [
    "Session recording (pgbench -S -c 8 -j 2, TLS, median TPS of alternated runs; audit is on in both, as it cannot be turned off):",
    "",
    "| mode | recording off | recording on | cost |",
    "| --- | ---: | ---: | ---: |",
  ];
  let worst = 0;
  for (const r of rows) {
    const cost = r.off > 0 ? 1 - r.on / r.off : 1;
    worst = Math.max(worst, cost);
    lines.push(`| ${r.mode} | ${r.off.toFixed(0)} | ${r.on.toFixed(0)} | ${(cost * 100).toFixed(1)}% |`);
  }
  lines.push(
    "",
    `Target (recording costs at most 15% TPS): ${worst <= 0.15 ? "met" : "MISSED"} (worst ${(worst * 100).toFixed(1)}%).`,
  );
  return lines;
}
