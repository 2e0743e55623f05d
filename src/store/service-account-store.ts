import type Database from "better-sqlite3";
import { apiKeyFromRow, apiKeyValues, KEY_COLUMNS, openSqliteTable, placeholders } from "./identity-rows.ts";

/** A service account's API key as stored: the secret only as a salted KDF hash. */
export interface ApiKeyRow {
  /** Public part of the key, also its name in listings and in tokens' `sid` (`key:<id>`). */
  readonly id: string;
  /** The service account (the principal's user name). */
  readonly account: string;
  readonly groups: readonly string[];
  /** `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`. */
  readonly secretHash: string;
  readonly description: string | undefined;
  readonly createdBy: string | undefined;
  /** Seconds since epoch. */
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly lastUsedAt: number | undefined;
  readonly revokedAt: number | undefined;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  groups TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  description TEXT,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_account ON api_keys(account);`;

/** Service-account API keys in the embedded store's SQLite file (own table and connection). */
export class SqliteServiceAccountStore {
  readonly #db: Database.Database;

  constructor(path: string) {
    this.#db = openSqliteTable(path, SCHEMA);
  }

  async insertApiKey(key: ApiKeyRow): Promise<void> {
    this.#db
      .prepare(`INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (${placeholders(10, "sqlite")})`)
      .run(...apiKeyValues(key));
  }

  async getApiKey(id: string): Promise<ApiKeyRow | undefined> {
    const row = this.#db.prepare("SELECT * FROM api_keys WHERE id = ?").get(id) as
      | Record<string, unknown>
      | undefined;
    return row === undefined ? undefined : apiKeyFromRow(row);
  }

  async listApiKeys(query: { readonly account?: string } = {}): Promise<ApiKeyRow[]> {
    const rows = (
      query.account === undefined
        ? this.#db.prepare("SELECT * FROM api_keys ORDER BY account, created_at").all()
        : this.#db.prepare("SELECT * FROM api_keys WHERE account = ? ORDER BY created_at").all(query.account)
    ) as Record<string, unknown>[];
    return rows.map(apiKeyFromRow);
  }

  async touchApiKey(id: string, at: number): Promise<void> {
    this.#db.prepare("UPDATE api_keys SET last_used_at = ? WHERE id = ?").run(at, id);
  }

  /** False when the key is unknown or already revoked. */
  async revokeApiKey(id: string, at: number): Promise<boolean> {
    return (
      this.#db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(at, id)
        .changes === 1
    );
  }

  /** True when the key is unknown, revoked or expired at `now` (seconds). */
  isApiKeyRevokedSync(id: string, now: number): boolean {
    const row = this.#db.prepare("SELECT revoked_at, expires_at FROM api_keys WHERE id = ?").get(id) as
      | { revoked_at: number | null; expires_at: number }
      | undefined;
    return row === undefined || row.revoked_at !== null || row.expires_at <= now;
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
