import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { PostgresStore, SqliteStore } from "../../src/store/index.ts";
import { startPostgres, type TestPostgres } from "../harness/postgres-server.ts";
import { storeContract } from "../harness/store-contract.ts";

/** The same behaviour, checked against every store implementation. */

let databases = 0;
let pg: TestPostgres;
before(async () => {
  pg = await startPostgres();
});
after(() => pg?.stop());

storeContract("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-store-"));
  const path = join(dir, "audit.db");
  return {
    open: (log) => new SqliteStore(path, log === undefined ? {} : { log }),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

storeContract("postgres", async () => {
  const name = `store_${++databases}`;
  const admin = await pg.admin();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = `postgres://${pg.superuser}@${pg.host}:${pg.port}/${name}`;
  return {
    open: (log) =>
      new PostgresStore({ url, password: pg.superPassword, ...(log === undefined ? {} : { log }) }),
    dispose: async () => {
      const admin = await pg.admin();
      try {
        await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
});
