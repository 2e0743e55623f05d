import { spawn } from "node:child_process";

export interface PsqlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real psql client with a password (the gateway token) from the environment. */
export function psql(
  conninfo: string,
  password: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<PsqlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("psql", [conninfo, "-X", "-v", "ON_ERROR_STOP=1", "-At", ...args], {
      env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: "10" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}
