/**
 * The demo's target database: a private PostgreSQL server when one is installed, otherwise
 * PGlite (PostgreSQL compiled to WebAssembly) served over the wire protocol on loopback.
 * Either way it has database `app`, role `app` and the seeded `customers` and `orders` tables,
 * and it keeps its data under ./data across runs.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import {
  findPostgresBinaries,
  initPostgresDataDir,
  isPostgresDataDir,
  type PostgresBinaries,
  runningPostmaster,
  startLocalPostgres,
} from "./local-postgres.ts";
import { preferredOrFreePort } from "./ports.ts";
import { seedDemoData } from "./seed.ts";

export const DEMO_DB_HOST = "127.0.0.1";
export const DEMO_DB_PORT = 15433;
export const DEMO_DATABASE = "app";
export const DEMO_ROLE = "app";

export type DemoDatabaseKind = "postgres" | "pglite";

export interface DemoDatabase {
  readonly kind: DemoDatabaseKind;
  readonly host: string;
  readonly port: number;
  /** One line for people: what is running and where its data lives. */
  readonly description: string;
  /** Caveats worth printing (e.g. PGlite does not check passwords). */
  readonly notes: readonly string[];
  stop(): Promise<void>;
}

export interface DemoDatabaseOptions {
  /** The demo's data directory (./data). */
  readonly dataDir: string;
  /** The `app` role's password (the gateway's upstream credential). */
  readonly appPassword: string;
  /** `SLUICE_DEMO_TARGET`: `postgres`, `pglite`, or undefined to pick automatically. */
  readonly choice: string | undefined;
  readonly log: (message: string) => void;
}

/** A problem the fallback must not hide (the data directory is in use, a bad choice). */
export class DemoDatabaseError extends Error {
  override readonly name = "DemoDatabaseError";
}

/** Reads the generated secret at `path`, creating it (mode 0600) when missing. */
export function ensureSecretFile(path: string): string {
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    const value = readFileSync(path, "utf8").replace(/\r?\n$/, "");
    if (value !== "") return value;
  }
  const value = randomBytes(24).toString("base64url");
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return value;
}

export async function startDemoDatabase(options: DemoDatabaseOptions): Promise<DemoDatabase> {
  const { choice, log } = options;
  if (choice !== undefined && choice !== "" && choice !== "postgres" && choice !== "pglite") {
    throw new DemoDatabaseError(`SLUICE_DEMO_TARGET must be "postgres" or "pglite", not "${choice}"`);
  }
  if (choice === "pglite") return startPgliteDatabase(options);
  const binaries = findPostgresBinaries();
  if (binaries === undefined) {
    if (choice === "postgres") {
      throw new DemoDatabaseError(
        "SLUICE_DEMO_TARGET=postgres, but no PostgreSQL server (initdb, postgres) is installed",
      );
    }
    log("no local PostgreSQL server installed: using PGlite instead");
    return startPgliteDatabase(options);
  }
  try {
    return await startPostgresDatabase(binaries, options);
  } catch (error) {
    if (choice === "postgres" || error instanceof DemoDatabaseError) throw error;
    log(`could not start the local PostgreSQL server, using PGlite instead: ${firstLine(error)}`);
    return startPgliteDatabase(options);
  }
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split("\n")[0] ?? "";
}

async function startPostgresDatabase(
  binaries: PostgresBinaries,
  options: DemoDatabaseOptions,
): Promise<DemoDatabase> {
  const dataDir = join(options.dataDir, "demo-postgres");
  const superPasswordFile = join(options.dataDir, "demo-postgres-superuser-password");
  const busy = runningPostmaster(dataDir);
  if (busy !== undefined) {
    throw new DemoDatabaseError(
      `data/demo-postgres is in use by PostgreSQL pid ${busy} (is another demo running?). ` +
        `Stop that demo, or stop the server with: kill -INT ${busy}`,
    );
  }
  if (!isPostgresDataDir(dataDir)) {
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new DemoDatabaseError(
        "data/demo-postgres exists but is not a PostgreSQL data directory: move it away or delete it",
      );
    }
    options.log("creating the demo PostgreSQL cluster in data/demo-postgres (initdb)");
    initPostgresDataDir({ binaries, dataDir, superPassword: ensureSecretFile(superPasswordFile) });
  } else if (!existsSync(superPasswordFile)) {
    throw new DemoDatabaseError(
      "data/demo-postgres-superuser-password is missing, so the demo cannot administer data/demo-postgres: " +
        "delete data/demo-postgres to start over",
    );
  }
  const server = await startLocalPostgres({
    binaries,
    dataDir,
    port: await preferredOrFreePort(DEMO_DB_HOST, DEMO_DB_PORT),
    superPassword: ensureSecretFile(superPasswordFile),
    logFile: join(options.dataDir, "demo-postgres.log"),
    detached: true,
  });
  try {
    const admin = await server.admin();
    try {
      const role = admin.escapeIdentifier(DEMO_ROLE);
      const password = admin.escapeLiteral(options.appPassword);
      const exists = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [DEMO_ROLE]);
      // Always (re)set the password, so a regenerated data/demo-app-password keeps working.
      await admin.query(`${exists.rowCount ? "ALTER" : "CREATE"} ROLE ${role} LOGIN PASSWORD ${password}`);
      const db = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DEMO_DATABASE]);
      if (!db.rowCount) {
        await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(DEMO_DATABASE)} OWNER ${role}`);
      }
    } finally {
      await admin.end();
    }
    // Seed as the app role itself: it owns its tables, and its password is proven to work.
    const app = new pg.Client({
      host: server.host,
      port: server.port,
      user: DEMO_ROLE,
      password: options.appPassword,
      database: DEMO_DATABASE,
    });
    await app.connect();
    try {
      if (await seedDemoData(app)) options.log("seeded tables customers and orders");
    } finally {
      await app.end();
    }
    const version = binaries.postgres.match(/postgresql\/(\d+)\//)?.[1];
    return {
      kind: "postgres",
      host: server.host,
      port: server.port,
      description: `local PostgreSQL${version ? ` ${version}` : ""} server, data in data/demo-postgres, log data/demo-postgres.log`,
      notes: [],
      stop: () => server.stop(),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

async function startPgliteDatabase(options: DemoDatabaseOptions): Promise<DemoDatabase> {
  // Loaded only when needed: PGlite brings a WebAssembly PostgreSQL of some tens of megabytes.
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const dataDir = join(options.dataDir, "demo-pglite");
  options.log("starting PGlite (PostgreSQL in WebAssembly), data in data/demo-pglite");
  const db = await PGlite.create(dataDir);
  try {
    // PGlite is a single database with a single user; the role exists so the schema matches.
    const role = await db.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [DEMO_ROLE]);
    if (role.rows.length === 0) await db.exec(`CREATE ROLE ${DEMO_ROLE} LOGIN`);
    if (await seedDemoData(db)) options.log("seeded tables customers and orders");
    const version = await db.query<{ server_version: string }>("SHOW server_version");
    const port = await preferredOrFreePort(DEMO_DB_HOST, DEMO_DB_PORT);
    const server = new PGLiteSocketServer({ db, host: DEMO_DB_HOST, port, maxConnections: 64 });
    await server.start();
    let stopping: Promise<void> | undefined;
    return {
      kind: "pglite",
      host: DEMO_DB_HOST,
      port,
      description: `PGlite (PostgreSQL ${version.rows[0]?.server_version ?? ""} in WebAssembly, inside this process), data in data/demo-pglite`,
      notes: [
        "PGlite's socket server accepts any user and password (trust) and serves its one database",
        "whatever name the client asks for; the gateway still logs in as app with data/demo-app-password.",
      ],
      stop() {
        stopping ??= (async () => {
          await server.stop();
          await db.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}
