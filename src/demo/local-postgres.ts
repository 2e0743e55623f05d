/**
 * A private PostgreSQL server run from the locally installed binaries: used by the demo (a
 * persistent instance under ./data) and by the integration-test harness (a throwaway one).
 * When running as root the server runs as the `postgres` user, since PostgreSQL refuses root.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  accessSync,
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import pg from "pg";

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
}

const DEBIAN_ROOT = "/usr/lib/postgresql";

/** The newest installed server's bin directory in the Debian layout, or "" when there is none. */
export function postgresBinDir(): string {
  if (!existsSync(DEBIAN_ROOT)) return "";
  const versions = readdirSync(DEBIAN_ROOT)
    .filter((v) => isExecutable(join(DEBIAN_ROOT, v, "bin", "postgres")))
    .filter((v) => isExecutable(join(DEBIAN_ROOT, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? "" : join(DEBIAN_ROOT, versions[0], "bin");
}

/**
 * `initdb` and `postgres` of one installation: the newest Debian-layout server, else the first
 * directory on PATH that has `initdb` (with `postgres` beside it or beside the file it links to).
 */
export function findPostgresBinaries(path = process.env.PATH ?? ""): PostgresBinaries | undefined {
  const debian = postgresBinDir();
  if (debian !== "") return { initdb: join(debian, "initdb"), postgres: join(debian, "postgres") };
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const initdb = join(dir, "initdb");
    if (!isExecutable(initdb)) continue;
    for (const candidate of [dir, dirname(realpathSync(initdb))]) {
      const postgres = join(candidate, "postgres");
      if (isExecutable(postgres)) return { initdb, postgres };
    }
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const isRoot = process.getuid?.() === 0;
const SERVER_USER = "postgres";

/** Runs a server binary, as the postgres user when we are root (the server refuses root). */
function asServerUser(bin: string, args: readonly string[]): [string, string[]] {
  return isRoot ? ["runuser", ["-u", SERVER_USER, "--", bin, ...args]] : [bin, [...args]];
}

/** Gives a file or directory we created to the server user (only when running as root). */
export function giveToServerUser(path: string): void {
  if (!isRoot) return;
  const id = (flag: string): number => Number(execFileSync("id", [flag, SERVER_USER]).toString().trim());
  chownSync(path, id("-u"), id("-g"));
}

/** True when `dir` holds an initialised PostgreSQL cluster. */
export function isPostgresDataDir(dir: string): boolean {
  return existsSync(join(dir, "PG_VERSION"));
}

/** The pid of a live postmaster that holds `dataDir`, if any (from postmaster.pid). */
export function runningPostmaster(dataDir: string): number | undefined {
  const pid = postmasterPid(dataDir);
  if (pid === undefined) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface InitDataDirOptions {
  readonly binaries: PostgresBinaries;
  readonly dataDir: string;
  readonly superuser?: string;
  readonly superPassword: string;
  /** Skip fsync of the new files (initdb -N): for throwaway servers. */
  readonly noSync?: boolean;
}

/**
 * Runs initdb: UTF8, C locale, SCRAM password authentication over TCP, trust on the Unix
 * socket. `dataDir` may exist (it must then be empty) or its parent must be writable by us.
 */
export function initPostgresDataDir(options: InitDataDirOptions): void {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(options.dataDir, 0o700);
  giveToServerUser(options.dataDir);
  const scratch = mkdtempSync(join(tmpdir(), "sluice-initdb-"));
  try {
    const pwfile = join(scratch, "pwfile");
    writeFileSync(pwfile, `${options.superPassword}\n`, { mode: 0o600 });
    giveToServerUser(scratch);
    giveToServerUser(pwfile);
    const [cmd, args] = asServerUser(options.binaries.initdb, [
      "-D",
      options.dataDir,
      "-U",
      options.superuser ?? "postgres",
      "--pwfile",
      pwfile,
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      "-E",
      "UTF8",
      "--locale=C",
      ...(options.noSync ? ["-N"] : []),
    ]);
    try {
      execFileSync(cmd, args, { stdio: "pipe" });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim();
      throw new Error(`initdb failed${stderr ? `: ${stderr}` : ""}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface StartPostgresOptions {
  readonly binaries: PostgresBinaries;
  readonly dataDir: string;
  readonly port: number;
  /** Directory for the Unix socket (writable by the server user); none when absent. */
  readonly socketDir?: string;
  /** Extra `-c name=value` settings, e.g. `{ fsync: "off" }` for throwaway test servers. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly superuser?: string;
  readonly superPassword: string;
  /** Append the server's log here instead of keeping its tail in memory. */
  readonly logFile?: string;
  /** Run the server in its own process group, so a terminal's Ctrl-C reaches only us. */
  readonly detached?: boolean;
  readonly startTimeoutMs?: number;
}

export interface LocalPostgres {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly superuser: string;
  readonly superPassword: string;
  /** A client as the superuser over TCP. The caller ends it. */
  admin(database?: string): Promise<pg.Client>;
  /** Fast shutdown (SIGINT to the postmaster), waiting for the server to exit. Idempotent. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";

/** Starts a server on an initialised data directory and waits until the superuser can log in. */
export async function startLocalPostgres(options: StartPostgresOptions): Promise<LocalPostgres> {
  const { dataDir, port } = options;
  const superuser = options.superuser ?? "postgres";
  const settings: Record<string, string> = {
    listen_addresses: HOST,
    ...(options.settings ?? {}),
  };
  const [cmd, args] = asServerUser(options.binaries.postgres, [
    "-D",
    dataDir,
    "-p",
    String(port),
    "-k",
    options.socketDir ?? "",
    ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
  ]);

  let logFd: number | undefined;
  if (options.logFile !== undefined) {
    logFd = openSync(options.logFile, "a", 0o600);
  }
  const child: ChildProcess = spawn(cmd, args, {
    stdio: ["ignore", "ignore", logFd ?? "pipe"],
    detached: options.detached ?? false,
  });
  if (logFd !== undefined) closeSync(logFd);
  let stderrTail = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  child.once("error", (error) => {
    stderrTail += `\n${String(error)}`;
  });

  const recentLog = (): string => {
    if (options.logFile === undefined) return stderrTail.trim();
    try {
      return readFileSync(options.logFile, "utf8").slice(-4000).trim();
    } catch {
      return "";
    }
  };

  let stopping: Promise<void> | undefined;
  const server: LocalPostgres = {
    host: HOST,
    port,
    dataDir,
    superuser,
    superPassword: options.superPassword,
    async admin(database = "postgres") {
      const client = new pg.Client({
        host: HOST,
        port,
        user: superuser,
        password: options.superPassword,
        database,
      });
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => {});
        throw error;
      }
      return client;
    },
    stop() {
      stopping ??= stopServer(child, exited, dataDir);
      return stopping;
    },
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    try {
      const client = await server.admin();
      await client.end();
      return server;
    } catch (error) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        await server.stop();
        throw new Error(`PostgreSQL did not start: ${String(error)}\n${recentLog()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stopServer(child: ChildProcess, exited: Promise<void>, dataDir: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // runuser does not pass signals on: signal the postmaster itself (SIGINT = fast shutdown).
  const pid = postmasterPid(dataDir) ?? child.pid;
  if (pid !== undefined) signal(pid, "SIGINT");
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 30_000).unref()),
  ]);
  if (timedOut) {
    // Immediate shutdown: the server recovers from its WAL at the next start.
    if (pid !== undefined) signal(pid, "SIGQUIT");
    await exited;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone (a terminal's Ctrl-C may have reached it first).
  }
}
