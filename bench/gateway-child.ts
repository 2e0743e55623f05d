import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config/index.ts";
import { loadOrCreateSigningKey, TokenIssuer } from "../src/identity/index.ts";
import { cpuMicros, peakRssKiB } from "./proc-stats.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface GatewayChild {
  readonly port: number;
  readonly pid: number;
  /** A gateway token for the bench principal, used as the PostgreSQL password. */
  readonly token: string;
  peakRssKiB(): number | undefined;
  cpuMicros(): number | undefined;
  /** SIGTERM and wait for a clean exit (which is when `--cpu-prof` writes its profile). */
  stop(): Promise<void>;
}

/**
 * Spawns bench/gateway-process.ts under Node (own process, own event loop) and mints a token
 * with the gateway's signing key once it is listening.
 */
export async function startGatewayChild(options: {
  configPath: string;
  allowPlaintext: boolean;
  cpuProfileDir?: string;
  user: string;
  groups: string[];
}): Promise<GatewayChild> {
  const nodeArgs = ["--import", "tsx"];
  if (options.cpuProfileDir) nodeArgs.push("--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir);
  const args = [...nodeArgs, join("bench", "gateway-process.ts"), options.configPath];
  if (options.allowPlaintext) args.push("--allow-plaintext");
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the gateway did not start in 60 s:\n${stderr}`)),
      60_000,
    );
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch {
        reject(new Error(`unexpected gateway output: ${line}`));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited with ${code}:\n${stderr}`));
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  };
  let port: number;
  try {
    port = await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  const config = await loadConfig(options.configPath, { skipSecrets: true });
  const issuer = new TokenIssuer(await loadOrCreateSigningKey(config.signingKey.path), config.tokens);
  const token = await issuer.issue({
    user: options.user,
    groups: options.groups,
    kind: "human",
    ttlSeconds: 6 * 3600,
  });
  const pid = child.pid!;
  return {
    port,
    pid,
    token,
    peakRssKiB: () => peakRssKiB(pid),
    cpuMicros: () => cpuMicros(pid),
    stop,
  };
}
