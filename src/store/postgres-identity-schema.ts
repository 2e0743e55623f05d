import type pg from "pg";
import { SluiceError } from "../core/index.ts";

/** The identity tables' schema version (`sluice_schema`, component `identity`). */
export const IDENTITY_FORMAT_VERSION = 1;

/**
 * Login sessions and service-account keys, the same rows as the SQLite store's
 * (login-session-store.ts, service-account-store.ts). Times are seconds since the epoch; group
 * lists are JSON text. Secrets are stored only as hashes (refresh: sha256, API keys: scrypt).
 */
const IDENTITY_SCHEMA_V1 = `
CREATE TABLE login_sessions (
  id text PRIMARY KEY,
  "user" text NOT NULL,
  kind text NOT NULL,
  provider text NOT NULL,
  idp_groups text NOT NULL,
  refresh_hash text NOT NULL,
  previous_refresh_hash text,
  idp_refresh_token text,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  refreshed_at bigint NOT NULL,
  revoked_at bigint,
  revoked_reason text
);
CREATE INDEX login_sessions_user ON login_sessions ("user");
CREATE INDEX login_sessions_expires ON login_sessions (expires_at);
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  account text NOT NULL,
  groups text NOT NULL,
  secret_hash text NOT NULL,
  description text,
  created_by text,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  last_used_at bigint,
  revoked_at bigint
);
CREATE INDEX api_keys_account ON api_keys (account);`;

/**
 * Creates or checks the identity tables inside the PostgreSQL store's migration transaction
 * (which holds the schema lock and has created `sluice_schema`). A newer version is refused.
 */
export async function migrateIdentitySchema(client: pg.ClientBase, where: string): Promise<void> {
  const row = (
    await client.query<{ version: number }>("SELECT version FROM sluice_schema WHERE component = 'identity'")
  ).rows[0];
  if (row === undefined) {
    await client.query(IDENTITY_SCHEMA_V1);
    await client.query("INSERT INTO sluice_schema (component, version) VALUES ('identity', $1)", [
      IDENTITY_FORMAT_VERSION,
    ]);
  } else if (row.version > IDENTITY_FORMAT_VERSION) {
    throw new SluiceError(
      "SLUICE_STORE_FORMAT",
      `${where}: the identity tables were written by a newer Sluice (format ${row.version}; this version reads ${IDENTITY_FORMAT_VERSION})`,
    );
  }
}
