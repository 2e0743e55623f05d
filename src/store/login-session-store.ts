import type Database from "better-sqlite3";
import {
  loginSessionFromRow,
  loginSessionValues,
  openSqliteTable,
  placeholders,
  SESSION_COLUMNS,
} from "./identity-rows.ts";

/** A login session as stored: the refreshable part of a login, bound to the IdP login. */
export interface LoginSessionRow {
  readonly id: string;
  readonly user: string;
  readonly kind: "human" | "service" | "agent";
  /** The IdP (provider name) the user logged in with. */
  readonly provider: string;
  /** The IdP's groups as last seen (mapping rules are applied again at every refresh). */
  readonly idpGroups: readonly string[];
  /** sha256 (hex) of the current refresh secret. The secret itself is never stored. */
  readonly refreshHash: string;
  /** sha256 of the refresh secret before the last refresh (reuse detection). */
  readonly previousRefreshHash: string | undefined;
  /** The IdP's refresh token, when the IdP gave one (refreshing re-reads the user's groups). */
  readonly idpRefreshToken: string | undefined;
  /** Seconds since epoch. */
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly refreshedAt: number;
  readonly revokedAt: number | undefined;
  readonly revokedReason: string | undefined;
}

export interface LoginSessionUpdate {
  readonly refreshHash: string;
  readonly idpGroups: readonly string[];
  readonly idpRefreshToken: string | undefined;
  readonly refreshedAt: number;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS login_sessions (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  kind TEXT NOT NULL,
  provider TEXT NOT NULL,
  idp_groups TEXT NOT NULL,
  refresh_hash TEXT NOT NULL,
  previous_refresh_hash TEXT,
  idp_refresh_token TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  refreshed_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoked_reason TEXT
);
CREATE INDEX IF NOT EXISTS login_sessions_user ON login_sessions(user);`;

/**
 * Login sessions in the embedded store's SQLite file (its own table and connection; the audit
 * chain is untouched). Calls are synchronous underneath: a revocation check is one indexed read.
 */
export class SqliteLoginSessionStore {
  readonly #db: Database.Database;

  constructor(path: string) {
    this.#db = openSqliteTable(path, SCHEMA);
  }

  async insertLoginSession(session: LoginSessionRow): Promise<void> {
    this.#db
      .prepare(`INSERT INTO login_sessions (${SESSION_COLUMNS}) VALUES (${placeholders(13, "sqlite")})`)
      .run(...loginSessionValues(session));
  }

  async getLoginSession(id: string): Promise<LoginSessionRow | undefined> {
    const row = this.#db.prepare("SELECT * FROM login_sessions WHERE id = ?").get(id) as
      | Record<string, unknown>
      | undefined;
    return row === undefined ? undefined : loginSessionFromRow(row);
  }

  /**
   * Replaces the refresh secret (and what a refresh learned) only if the current one is still
   * `expectedHash` and the session stands: two concurrent refreshes cannot both succeed.
   */
  async updateLoginSession(id: string, expectedHash: string, update: LoginSessionUpdate): Promise<boolean> {
    const result = this.#db
      .prepare(
        `UPDATE login_sessions SET previous_refresh_hash = refresh_hash, refresh_hash = ?, idp_groups = ?, idp_refresh_token = ?, refreshed_at = ?
         WHERE id = ? AND refresh_hash = ? AND revoked_at IS NULL`,
      )
      .run(
        update.refreshHash,
        JSON.stringify(update.idpGroups),
        update.idpRefreshToken ?? null,
        update.refreshedAt,
        id,
        expectedHash,
      );
    return result.changes === 1;
  }

  /** Marks the session revoked (and forgets the IdP's refresh token). False when already revoked or unknown. */
  async revokeLoginSession(id: string, at: number, reason: string): Promise<boolean> {
    const result = this.#db
      .prepare(
        `UPDATE login_sessions SET revoked_at = ?, revoked_reason = ?, idp_refresh_token = NULL
         WHERE id = ? AND revoked_at IS NULL`,
      )
      .run(at, reason, id);
    return result.changes === 1;
  }

  /** Ids of sessions revoked since `since` (seconds since epoch); for closing live protocol sessions. */
  async revokedSince(since: number): Promise<string[]> {
    const rows = this.#db
      .prepare("SELECT id FROM login_sessions WHERE revoked_at IS NOT NULL AND revoked_at >= ?")
      .all(since) as { id: string }[];
    return rows.map((row) => row.id);
  }

  /** Sessions of a user (all users when absent), newest first. */
  async listLoginSessions(
    query: { readonly user?: string; readonly limit?: number } = {},
  ): Promise<LoginSessionRow[]> {
    const limit = query.limit ?? 100;
    const rows = (
      query.user === undefined
        ? this.#db.prepare("SELECT * FROM login_sessions ORDER BY created_at DESC LIMIT ?").all(limit)
        : this.#db
            .prepare("SELECT * FROM login_sessions WHERE user = ? ORDER BY created_at DESC LIMIT ?")
            .all(query.user, limit)
    ) as Record<string, unknown>[];
    return rows.map(loginSessionFromRow);
  }

  /** True when the session is unknown, revoked, or past its end at `now` (seconds). */
  isRevokedSync(id: string, now: number): boolean {
    const row = this.#db.prepare("SELECT revoked_at, expires_at FROM login_sessions WHERE id = ?").get(id) as
      | { revoked_at: number | null; expires_at: number }
      | undefined;
    return row === undefined || row.revoked_at !== null || row.expires_at <= now;
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
