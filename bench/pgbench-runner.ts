import { spawn } from "node:child_process";

/** Where and as whom pgbench connects: one bench target. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly dbname: string;
  readonly user: string;
  readonly password: string;
  readonly sslmode: "disable" | "require";
}

export type ProtocolMode = "simple" | "extended" | "prepared";

export interface PgbenchRun {
  /** `builtin-select` is `pgbench -S`; a path is a custom script file run with `-f`. */
  readonly script: "builtin-select" | { readonly file: string; readonly scale: number };
  readonly mode: ProtocolMode;
  readonly clients: number;
  readonly threads: number;
  readonly seconds: number;
}

export interface PgbenchResult {
  readonly tps: number;
  readonly latencyMs: number;
  readonly transactions: number;
  readonly failed: number;
}

export class PgbenchError extends Error {}

/** Runs a command with a bounded lifetime; resolves with its exit code and output. */
export function runBounded(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}

/** The environment for libpq programs: the endpoint's password and TLS mode, nothing inherited that changes a connection. */
export function libpqEnv(endpoint: Endpoint): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("PG")) env[key] = value;
  return { ...env, PGPASSWORD: endpoint.password, PGSSLMODE: endpoint.sslmode, PGCONNECT_TIMEOUT: "10" };
}

const connectArgs = (e: Endpoint): string[] => ["-h", e.host, "-p", String(e.port), "-U", e.user];

/** `pgbench -i -s <scale>` into the endpoint's database. */
export async function initPgbench(endpoint: Endpoint, scale: number): Promise<void> {
  const result = await runBounded(
    "pgbench",
    ["-i", "-q", "-s", String(scale), ...connectArgs(endpoint), endpoint.dbname],
    { env: libpqEnv(endpoint), timeoutMs: 600_000 },
  );
  if (result.code !== 0) throw new PgbenchError(`pgbench -i failed:\n${result.stderr.slice(-2000)}`);
}

/** Reads TPS, mean latency and transaction counts from pgbench's report. */
export function parsePgbench(output: string): PgbenchResult | undefined {
  const tps = /^tps = ([\d.]+) \(without initial connection time\)/m.exec(output);
  const latency = /^latency average = ([\d.]+) ms/m.exec(output);
  if (!tps || !latency) return undefined;
  const processed = /^number of transactions actually processed: (\d+)/m.exec(output);
  const failed = /^number of failed transactions: (\d+)/m.exec(output);
  return {
    tps: Number(tps[1]),
    latencyMs: Number(latency[1]),
    transactions: processed ? Number(processed[1]) : 0,
    failed: failed ? Number(failed[1]) : 0,
  };
}

/** One timed pgbench run (`-n`: no vacuum, so the same statements reach every target). */
export async function runPgbench(endpoint: Endpoint, run: PgbenchRun): Promise<PgbenchResult> {
  const scriptArgs =
    run.script === "builtin-select" ? ["-S"] : ["-f", run.script.file, "-s", String(run.script.scale)];
  const args = [
    "-n",
    ...scriptArgs,
    "-M",
    run.mode,
    "-c",
    String(run.clients),
    "-j",
    String(run.threads),
    "-T",
    String(run.seconds),
    ...connectArgs(endpoint),
    endpoint.dbname,
  ];
  const result = await runBounded("pgbench", args, {
    env: libpqEnv(endpoint),
    timeoutMs: (run.seconds + 60) * 1000,
  });
  const parsed = parsePgbench(result.stdout);
  if (result.code !== 0 || !parsed) {
    throw new PgbenchError(
      `pgbench exited with ${result.code}: ${(result.stderr || result.stdout).trim().split("\n").slice(-3).join(" | ")}`,
    );
  }
  return parsed;
}
