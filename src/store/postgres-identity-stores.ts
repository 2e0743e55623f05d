import pg from "pg";
import {
  apiKeyFromRow,
  apiKeyValues,
  KEY_COLUMNS,
  loginSessionFromRow,
  loginSessionValues,
  placeholders,
  SESSION_COLUMNS,
} from "./identity-rows.ts";
import type { LoginSessionRow, LoginSessionUpdate } from "./login-session-store.ts";
import type { ApiKeyRow } from "./service-account-store.ts";
import type { Store, Subscription } from "./store.ts";

/** Announces a changed login session or API key to every gateway sharing the store. */
export const IDENTITY_CHANNEL = "identity";

/** What memory keeps of a session or key: enough to answer "does it still stand?". */
interface Standing {
  readonly revokedAt: number | undefined;
  readonly expiresAt: number;
}

const num = (value: string | null): number | undefined => (value === null ? undefined : Number(value));

const stands = (entry: Standing | undefined, now: number): boolean =>
  entry !== undefined && entry.revokedAt === undefined && entry.expiresAt > now;

export interface PostgresIdentityStoresOptions {
  /** The shared store: its migration creates the tables; its notifications carry changes. */
  readonly store: Store;
  /** The store's URL (`postgres://…`); the password comes from PGPASSWORD or the password file. */
  readonly url: string;
  /** How often everything is read again, in case a notification was missed. Default 30 s. */
  readonly reloadIntervalMs?: number;
  readonly log?: (message: string) => void;
  /** Called when a notification revealed a session or key revoked elsewhere. */
  readonly onRevoked?: () => void;
}

/**
 * Login sessions and service-account keys in the shared PostgreSQL store, so that a token issued
 * by one gateway works at every gateway and a revocation anywhere is seen everywhere.
 *
 * The revocation check of live protocol sessions is synchronous, so every gateway keeps in memory
 * which sessions and keys stand: loaded at start, updated at once by its own writes, by a
 * notification on the `identity` channel after another gateway's (the row is read again, the
 * payload only names it), everything again after the notification connection was re-established,
 * and every `reloadIntervalMs`. A credential naming a session memory does not know yet (started
 * at another gateway a moment ago) is looked up in the database (`isRevokedAsync`).
 */
export class PostgresIdentityStores {
  readonly #store: Store;
  readonly #pool: pg.Pool;
  readonly #log: (message: string) => void;
  readonly #reloadIntervalMs: number;
  readonly #onRevoked: (() => void) | undefined;
  #sessions = new Map<string, Standing>();
  #keys = new Map<string, Standing>();
  #subscription: Subscription | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: PostgresIdentityStoresOptions) {
    this.#store = options.store;
    this.#log = options.log ?? ((message: string) => process.stderr.write(`sluice: ${message}\n`));
    this.#reloadIntervalMs = options.reloadIntervalMs ?? 30_000;
    this.#onRevoked = options.onRevoked;
    this.#pool = new pg.Pool({
      connectionString: options.url,
      application_name: "sluice",
      keepAlive: true,
      max: 2,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 5000,
      query_timeout: 15_000,
    });
    this.#pool.on("error", () => {});
  }

  /** Waits for the store's schema, loads what stands, and starts following changes. */
  async start(): Promise<void> {
    await this.#store.ready();
    this.#subscription = await this.#store.subscribe(IDENTITY_CHANNEL, (payload) => this.#changed(payload), {
      onReconnect: () => void this.reload(),
    });
    await this.reload();
    this.#timer = setInterval(() => void this.reload(), this.#reloadIntervalMs);
    this.#timer.unref();
  }

  /** Reads again which sessions and keys stand (those not past their end). */
  async reload(): Promise<void> {
    if (this.#closed) return;
    const now = Math.floor(Date.now() / 1000);
    try {
      const [sessions, keys] = await Promise.all([
        this.#pool.query<{ id: string; revoked_at: string | null; expires_at: string }>(
          "SELECT id, revoked_at, expires_at FROM login_sessions WHERE expires_at > $1::int8",
          [now],
        ),
        this.#pool.query<{ id: string; revoked_at: string | null; expires_at: string }>(
          "SELECT id, revoked_at, expires_at FROM api_keys WHERE expires_at > $1::int8",
          [now],
        ),
      ]);
      const toMap = (rows: { id: string; revoked_at: string | null; expires_at: string }[]) =>
        new Map(
          rows.map((row) => [row.id, { revokedAt: num(row.revoked_at), expiresAt: Number(row.expires_at) }]),
        );
      this.#sessions = toMap(sessions.rows);
      this.#keys = toMap(keys.rows);
    } catch (error) {
      this.#log(`identity: could not reload login sessions and API keys: ${describe(error)}`);
    }
  }

  #changed(payload: string): void {
    const match = /^(session|key):(.+)$/.exec(payload);
    if (match === null) return;
    const [, what, id] = match as unknown as [string, "session" | "key", string];
    void this.#refreshOne(what, id).then(
      (entry) => {
        if (entry === undefined || entry.revokedAt !== undefined) this.#onRevoked?.();
      },
      (error: unknown) => {
        // Memory may now be behind: read everything again.
        this.#log(`identity: could not read ${what} ${id}: ${describe(error)}`);
        void this.reload();
      },
    );
  }

  async #refreshOne(what: "session" | "key", id: string): Promise<Standing | undefined> {
    const table = what === "session" ? "login_sessions" : "api_keys";
    const row = (
      await this.#pool.query<{ revoked_at: string | null; expires_at: string }>(
        `SELECT revoked_at, expires_at FROM ${table} WHERE id = $1::text`,
        [id],
      )
    ).rows[0];
    const map = what === "session" ? this.#sessions : this.#keys;
    if (row === undefined) {
      map.delete(id);
      return undefined;
    }
    const entry = { revokedAt: num(row.revoked_at), expiresAt: Number(row.expires_at) };
    map.set(id, entry);
    return entry;
  }

  async #announce(what: "session" | "key", id: string): Promise<void> {
    await this.#store.notify(IDENTITY_CHANNEL, `${what}:${id}`).catch((error: unknown) => {
      this.#log(`identity: could not announce a change of ${what} ${id}: ${describe(error)}`);
    });
  }

  // --- login sessions (the identity module's LoginSessionStore) ---

  async insertLoginSession(session: LoginSessionRow): Promise<void> {
    await this.#pool.query(
      `INSERT INTO login_sessions (${SESSION_COLUMNS}) VALUES (${placeholders(13, "postgres")})`,
      loginSessionValues(session),
    );
    this.#sessions.set(session.id, { revokedAt: session.revokedAt, expiresAt: session.expiresAt });
  }

  async getLoginSession(id: string): Promise<LoginSessionRow | undefined> {
    const row = (
      await this.#pool.query<Record<string, unknown>>(
        `SELECT ${SESSION_COLUMNS} FROM login_sessions WHERE id = $1::text`,
        [id],
      )
    ).rows[0];
    return row === undefined ? undefined : loginSessionFromRow(row);
  }

  /** Rotates the refresh secret only if it is still `expectedHash` and the session stands. */
  async updateLoginSession(id: string, expectedHash: string, update: LoginSessionUpdate): Promise<boolean> {
    const result = await this.#pool.query(
      `UPDATE login_sessions SET previous_refresh_hash = refresh_hash, refresh_hash = $1, idp_groups = $2,
         idp_refresh_token = $3, refreshed_at = $4
       WHERE id = $5 AND refresh_hash = $6 AND revoked_at IS NULL`,
      [
        update.refreshHash,
        JSON.stringify(update.idpGroups),
        update.idpRefreshToken ?? null,
        update.refreshedAt,
        id,
        expectedHash,
      ],
    );
    return result.rowCount === 1;
  }

  async revokeLoginSession(id: string, at: number, reason: string): Promise<boolean> {
    const result = await this.#pool.query<{ expires_at: string }>(
      `UPDATE login_sessions SET revoked_at = $1, revoked_reason = $2, idp_refresh_token = NULL
       WHERE id = $3 AND revoked_at IS NULL RETURNING expires_at`,
      [at, reason, id],
    );
    const row = result.rows[0];
    if (row === undefined) return false;
    this.#sessions.set(id, { revokedAt: at, expiresAt: Number(row.expires_at) });
    await this.#announce("session", id);
    return true;
  }

  async listLoginSessions(
    query: { readonly user?: string; readonly limit?: number } = {},
  ): Promise<LoginSessionRow[]> {
    const limit = query.limit ?? 100;
    const rows =
      query.user === undefined
        ? await this.#pool.query<Record<string, unknown>>(
            `SELECT ${SESSION_COLUMNS} FROM login_sessions ORDER BY created_at DESC LIMIT $1::int8`,
            [limit],
          )
        : await this.#pool.query<Record<string, unknown>>(
            `SELECT ${SESSION_COLUMNS} FROM login_sessions WHERE "user" = $1::text ORDER BY created_at DESC LIMIT $2::int8`,
            [query.user, limit],
          );
    return rows.rows.map(loginSessionFromRow);
  }

  /** From memory: true when the session is unknown here, revoked, or past its end. */
  isRevokedSync(id: string, now: number): boolean {
    return !stands(this.#sessions.get(id), now);
  }

  /** From memory, or from the database when memory does not know the session (yet). */
  async isRevokedAsync(id: string, now: number): Promise<boolean> {
    const known = this.#sessions.get(id);
    if (known !== undefined) return !stands(known, now);
    return !stands(await this.#refreshOne("session", id), now);
  }

  // --- API keys (the identity module's ApiKeyStore) ---

  async insertApiKey(key: ApiKeyRow): Promise<void> {
    await this.#pool.query(
      `INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (${placeholders(10, "postgres")})`,
      apiKeyValues(key),
    );
    this.#keys.set(key.id, { revokedAt: key.revokedAt, expiresAt: key.expiresAt });
  }

  async getApiKey(id: string): Promise<ApiKeyRow | undefined> {
    const row = (
      await this.#pool.query<Record<string, unknown>>(
        `SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1::text`,
        [id],
      )
    ).rows[0];
    return row === undefined ? undefined : apiKeyFromRow(row);
  }

  async listApiKeys(query: { readonly account?: string } = {}): Promise<ApiKeyRow[]> {
    const rows =
      query.account === undefined
        ? await this.#pool.query<Record<string, unknown>>(
            `SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY account, created_at`,
          )
        : await this.#pool.query<Record<string, unknown>>(
            `SELECT ${KEY_COLUMNS} FROM api_keys WHERE account = $1::text ORDER BY created_at`,
            [query.account],
          );
    return rows.rows.map(apiKeyFromRow);
  }

  async touchApiKey(id: string, at: number): Promise<void> {
    await this.#pool.query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2", [at, id]);
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    const result = await this.#pool.query<{ expires_at: string }>(
      "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING expires_at",
      [at, id],
    );
    const row = result.rows[0];
    if (row === undefined) return false;
    this.#keys.set(id, { revokedAt: at, expiresAt: Number(row.expires_at) });
    await this.#announce("key", id);
    return true;
  }

  isApiKeyRevokedSync(id: string, now: number): boolean {
    return !stands(this.#keys.get(id), now);
  }

  async isApiKeyRevokedAsync(id: string, now: number): Promise<boolean> {
    const known = this.#keys.get(id);
    if (known !== undefined) return !stands(known, now);
    return !stands(await this.#refreshOne("key", id), now);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#subscription?.unsubscribe().catch(() => {});
    await this.#pool.end();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
