import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/harness/free-port.ts";

const CANDIDATES = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"];

function findPgbouncer(): string | undefined {
  const found = CANDIDATES.find((path) => existsSync(path));
  if (found) return found;
  try {
    return execFileSync("sh", ["-c", "command -v pgbouncer"]).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pgbouncer binary; when it is missing and we are root, one attempt to install Debian's
 * package. Returns the path, or a note saying why pgbouncer rows are skipped.
 */
export function ensurePgbouncer(log: (line: string) => void): { path: string } | { skipped: string } {
  const existing = findPgbouncer();
  if (existing) return { path: existing };
  if (process.getuid?.() !== 0)
    return { skipped: "pgbouncer is not installed (and we are not root to install it)" };
  log("pgbouncer not found: trying apt-get install -y pgbouncer once");
  try {
    execFileSync("apt-get", ["install", "-y", "-q", "pgbouncer"], {
      stdio: "pipe",
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { skipped: `pgbouncer is not installed and apt-get install failed (${detail})` };
  }
  const installed = findPgbouncer();
  return installed ? { path: installed } : { skipped: "pgbouncer is still missing after apt-get install" };
}

export interface RunningPgbouncer {
  readonly port: number;
  readonly version: string;
  /** The pgbouncer process itself (not the runuser wrapper), from its pid file. */
  pid(): number | undefined;
  stop(): Promise<void>;
}

function tcpReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * pgbouncer in a temp dir on a free loopback port, in session pooling mode (each client keeps
 * its server connection, like a client of the gateway does), SCRAM to clients and to PostgreSQL.
 */
export async function startPgbouncer(options: {
  binary: string;
  pgPort: number;
  database: string;
  user: string;
  password: string;
}): Promise<RunningPgbouncer> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-pgbouncer-"));
  const port = await freePort();
  const ini = join(dir, "pgbouncer.ini");
  const pidFile = join(dir, "pgbouncer.pid");
  writeFileSync(join(dir, "userlist.txt"), `"${options.user}" "${options.password}"\n`);
  writeFileSync(
    ini,
    [
      "[databases]",
      `${options.database} = host=127.0.0.1 port=${options.pgPort} dbname=${options.database}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = scram-sha-256",
      `auth_file = ${join(dir, "userlist.txt")}`,
      "pool_mode = session",
      "max_client_conn = 200",
      "default_pool_size = 50",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      `pidfile = ${pidFile}`,
      "ignore_startup_parameters = extra_float_digits",
      "",
    ].join("\n"),
  );
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    for (const file of [dir, ini, join(dir, "userlist.txt")]) chownSync(file, uid, gid);
  }
  chmodSync(dir, 0o700);
  const version =
    execFileSync(options.binary, ["--version"]).toString().split("\n")[0]?.trim() ?? "pgbouncer";
  const [command, args] = isRoot
    ? ["runuser", ["-u", "postgres", "--", options.binary, ini]]
    : [options.binary, [ini]];
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const pid = (): number | undefined => {
    try {
      return Number(readFileSync(pidFile, "utf8").trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      const target = pid();
      // runuser does not pass signals on: SIGTERM (immediate shutdown) to pgbouncer itself.
      if (target) process.kill(target, "SIGTERM");
      else child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await tcpReady(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = existsSync(join(dir, "pgbouncer.log"))
        ? readFileSync(join(dir, "pgbouncer.log"), "utf8")
        : "";
      await stop();
      throw new Error(`pgbouncer did not start:\n${stderr}${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, version, pid, stop };
}
