import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import {
  findPostgresBinaries,
  giveToServerUser,
  initPostgresDataDir,
  startLocalPostgres,
} from "../../src/demo/local-postgres.ts";
import { freePort } from "./free-port.ts";

export { postgresBinDir } from "../../src/demo/local-postgres.ts";

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
  const binaries = findPostgresBinaries();
  if (binaries === undefined) throw new Error("no PostgreSQL server binaries (initdb, postgres) found");
  const base = mkdtempSync(join(tmpdir(), "sluice-pg-"));
  const dataDir = join(base, "data");
  const superPassword = "sluice-test-superuser";
  giveToServerUser(base);
  chmodSync(base, 0o700);
  try {
    initPostgresDataDir({ binaries, dataDir, superPassword, noSync: true });
    const server = await startLocalPostgres({
      binaries,
      dataDir,
      port: await freePort(),
      socketDir: base,
      superPassword,
      settings: {
        fsync: "off",
        synchronous_commit: "off",
        full_page_writes: "off",
        max_connections: "200",
      },
    });
    return {
      host: server.host,
      port: server.port,
      superuser: server.superuser,
      superPassword,
      dataDir,
      admin: (database) => server.admin(database),
      async stop() {
        await server.stop();
        rmSync(base, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(base, { recursive: true, force: true });
    throw new Error(`test PostgreSQL did not start: ${String(error)}`);
  }
}
