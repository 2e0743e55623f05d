import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./free-port.ts";

/** The newest installed PostgreSQL server binaries (Debian layout), or PATH as a fallback. */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, "bin", "postgres")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], "bin");
  }
  return "";
}

const isRoot = process.getuid?.() === 0;

/** Runs a server binary, as the postgres user when we are root (the server refuses root). */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  return isRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly superPassword: string;
  readonly dataDir: string;
  /** A client as the superuser, for seeding and for checking what really happened. */
  admin(database?: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

/**
 * A private PostgreSQL server for one test file: initdb in a temp dir, a free loopback port,
 * SCRAM password auth over TCP (so the gateway's upstream authentication is exercised).
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const binPath = (name: string): string => (bin ? join(bin, name) : name);
  const base = mkdtempSync(join(tmpdir(), "sluice-pg-"));
  const dataDir = join(base, "data");
  const superPassword = "sluice-test-superuser";
  const pwfile = join(base, "pwfile");
  writeFileSync(pwfile, `${superPassword}\n`);
  if (isRoot) {
    for (const p of [base, pwfile]) chownSync(p, uidOf("postgres"), gidOf("postgres"));
  }
  chmodSync(base, 0o700);
  const [initCmd, initArgs] = asServerUser(binPath("initdb"), [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--pwfile",
    pwfile,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-N",
    "-E",
    "UTF8",
    "--locale=C",
  ]);
  execFileSync(initCmd, initArgs, { stdio: "pipe" });
  const port = await freePort();
  const [cmd, args] = asServerUser(binPath("postgres"), [
    "-D",
    dataDir,
    "-p",
    String(port),
    "-k",
    base,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=200",
  ]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const server: TestPostgres = {
    host: "127.0.0.1",
    port,
    superuser: "postgres",
    superPassword,
    dataDir,
    async admin(database = "postgres") {
      const client = new pg.Client({
        host: "127.0.0.1",
        port,
        user: "postgres",
        password: superPassword,
        database,
      });
      await client.connect();
      return client;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        // runuser does not pass signals on: signal the postmaster itself (fast shutdown).
        const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
        process.kill(pid, "SIGINT");
        await exited;
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const client = await server.admin();
      await client.end();
      return server;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`test PostgreSQL did not start: ${String(error)}\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function uidOf(user: string): number {
  return Number(execFileSync("id", ["-u", user]).toString().trim());
}
function gidOf(user: string): number {
  return Number(execFileSync("id", ["-g", user]).toString().trim());
}
