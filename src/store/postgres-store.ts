import pg from "pg";
import { SluiceError } from "../core/index.ts";
import {
  APPROVAL_COLUMNS,
  type ApprovalRow,
  approvalFilters,
  approvalLimit,
  fromApprovalRow,
  newApprovalValues,
  updatedApprovalValues,
} from "./approval-rows.ts";
import { bodyHash, GENESIS_HASH, linkHash, wellFormed } from "./chain.ts";
import { checkNotification } from "./notifications.ts";
import { migrateIdentitySchema } from "./postgres-identity-schema.ts";
import { CHANNEL_PREFIX, PostgresListener } from "./postgres-listener.ts";
import type {
  ApprovalQuery,
  AuditEnvelope,
  AuditQuery,
  AuditRecord,
  ChainedAuditRecord,
  ChainHead,
  ChainQuery,
  NotificationHandler,
  RetentionRequest,
  RetentionStep,
  Store,
  StoredApproval,
  StoredAuditRecord,
  SubscribeOptions,
  Subscription,
} from "./store.ts";

/**
 * The schema version this code writes (`sluice_schema`, component `audit`): 1 is the audit
 * chain, 2 added the approvals table.
 */
const FORMAT_VERSION = 2;

/** Advisory lock keys (two int4, scoped to the database): the class is "Sluc". */
const LOCK_CLASS = 0x536c7563;
const LOCK_SCHEMA = 1;
const LOCK_CHAIN = 2;

/**
 * The same row as the SQLite store's (docs/audit.md#hash-chain). Text columns compared as
 * ranges (`time`, `type`) use the "C" collation: byte order, as SQLite compares them.
 */
const SCHEMA_V1 = `
CREATE TABLE audit_events (
  seq bigint PRIMARY KEY,
  id text NOT NULL,
  time text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  session_id text,
  "user" text,
  connection text,
  effect text,
  data text,
  prev_hash text NOT NULL,
  body_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (time) WHERE data IS NOT NULL;`;

/**
 * Approval requests (approval-rows.ts), as in the SQLite store. `data` is JSON text, kept as
 * written; times compare in the "C" collation (byte order, as SQLite).
 */
const SCHEMA_V2 = `
CREATE TABLE approvals (
  id text PRIMARY KEY,
  kind text NOT NULL,
  state text NOT NULL,
  requester text NOT NULL,
  connection text NOT NULL,
  command_hash text,
  created_at text COLLATE "C" NOT NULL,
  expires_at text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  data text NOT NULL
);
CREATE INDEX approvals_created ON approvals (created_at);
CREATE INDEX approvals_state ON approvals (state, created_at);
CREATE INDEX approvals_requester ON approvals (requester, created_at);
CREATE INDEX approvals_command ON approvals (connection, command_hash);`;

/** The steps from each version to the next: MIGRATIONS[v - 1] brings version v - 1 to v. */
const MIGRATIONS = [SCHEMA_V1, SCHEMA_V2];

const COLUMNS = `seq, id, time, type, session_id, "user", connection, effect, data, prev_hash, body_hash, hash`;

/** One INSERT for a whole batch: twelve arrays, whatever the batch size. */
const INSERT_ROWS = `INSERT INTO audit_events (${COLUMNS})
  SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])`;

const READ_HEAD = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";

/**
 * Opens a chain-extending transaction in one round trip: the lock serializes every writer of the
 * database, and the head is read after it was granted (read committed: each statement sees what
 * the previous holder committed).
 */
const BEGIN_CHAIN = `BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${LOCK_CHAIN}); ${READ_HEAD}`;

interface Row {
  seq: string;
  id: string;
  time: string;
  type: string;
  session_id: string | null;
  user: string | null;
  connection: string | null;
  effect: string | null;
  data: string | null;
  prev_hash: string;
  body_hash: string;
  hash: string;
}

/** An event's header and body, hashed before the chain is locked (the body hash needs no seq). */
interface PreparedRecord {
  readonly id: string;
  readonly time: string;
  readonly type: string;
  readonly sessionId: string | null;
  readonly user: string | null;
  readonly connection: string | null;
  readonly effect: string | null;
  readonly dataJson: string;
  readonly bodyHash: string;
}

function prepare(record: AuditRecord): PreparedRecord {
  const sessionId = wellFormed(record.sessionId);
  const user = wellFormed(record.user);
  const connection = wellFormed(record.connection);
  const effect = wellFormed(record.effect);
  const dataJson = record.dataJson ?? JSON.stringify(record.data);
  if (typeof dataJson !== "string") throw new TypeError("audit data must be a JSON object");
  return {
    id: wellFormed(record.id),
    time: wellFormed(record.time),
    type: wellFormed(record.type),
    sessionId,
    user,
    connection,
    effect,
    dataJson,
    bodyHash: bodyHash({ sessionId, user, connection, effect, dataJson }),
  };
}

function envelopeOf(row: Row): AuditEnvelope {
  return {
    id: row.id,
    time: row.time,
    type: row.type,
    sessionId: row.session_id,
    user: row.user,
    connection: row.connection,
    effect: row.effect,
  };
}

function toChained(row: Row): ChainedAuditRecord {
  return {
    ...envelopeOf(row),
    seq: Number(row.seq),
    dataJson: row.data,
    prevHash: row.prev_hash,
    bodyHash: row.body_hash,
    hash: row.hash,
  };
}

interface PendingAppend {
  readonly records: readonly PreparedRecord[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** PostgreSQL refused a value (class 22, e.g. a NUL character in text): that append's fault alone. */
const isDataError = (error: unknown): boolean => {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("22");
};

const isUniqueViolation = (error: unknown): boolean => (error as { code?: unknown }).code === "23505";

/** Numbered query parameters, built up clause by clause. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast = "text"): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database[?sslmode=…]`; the password comes from PGPASSWORD or ~/.pgpass. */
  readonly url: string;
  /** The password, when the caller has it (otherwise libpq's environment supplies it). */
  readonly password?: string;
  /** Pooled connections for appends and reads (default 4); notifications use one more. */
  readonly poolSize?: number;
  /** Give up connecting after this long (default 5 s): appends then reject and the gate denies. */
  readonly connectTimeoutMs?: number;
  /** Give up on a statement after this long (default 15 s). */
  readonly queryTimeoutMs?: number;
  readonly log?: (message: string) => void;
}

/**
 * The shared store: several gateway processes use one PostgreSQL database. The audit trail is
 * the same hash chain as the SQLite store's (chain.ts), row for row: every append runs in one
 * transaction that takes a transaction-scoped advisory lock, reads the head, and inserts the
 * batch chained after it, so concurrent writers produce one chain with gap-free seqs. The schema
 * is created (and versioned, `sluice_schema`) when the store is first used; a newer version is
 * refused. Notifications are LISTEN/NOTIFY on a dedicated connection that reconnects.
 *
 * Fail closed: while the database cannot be reached, appends reject (the gate then denies).
 */
export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly #pool: pg.Pool;
  readonly #listener: PostgresListener;
  readonly #log: (message: string) => void;
  readonly #where: string;
  #ready: Promise<void> | undefined;
  #appends: PendingAppend[] = [];
  #appending = false;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    this.#log = options.log ?? ((message: string) => process.stderr.write(`sluice: ${message}\n`));
    this.#where = describeUrl(options.url);
    const config: pg.PoolConfig = {
      connectionString: withPassword(options.url, options.password),
      application_name: "sluice",
      keepAlive: true,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      query_timeout: options.queryTimeoutMs ?? 15_000,
    };
    this.#pool = new pg.Pool({ ...config, max: options.poolSize ?? 4, idleTimeoutMillis: 30_000 });
    // An idle connection that breaks is dropped by the pool; the next query connects again.
    this.#pool.on("error", () => {});
    this.#listener = new PostgresListener(async () => {
      const client = new pg.Client({ ...config, query_timeout: undefined });
      client.on("error", () => {});
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => {});
        throw error;
      }
      return client;
    }, this.#log);
  }

  /** Connects and brings the schema up to date (once; again after a failure). */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new SluiceError("SLUICE_STORE_CLOSED", "the store is closed"));
    this.#ready ??= this.#migrate().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #migrate(): Promise<void> {
    const client = await this.#pool.connect();
    let failed: Error | undefined;
    try {
      const encoding = (await client.query<{ server_encoding: string }>("SHOW server_encoding")).rows[0];
      if (encoding?.server_encoding !== "UTF8") {
        throw new SluiceError(
          "SLUICE_STORE_UNSUPPORTED",
          `${this.#where}: the database's encoding is ${encoding?.server_encoding}; the audit store needs UTF8`,
        );
      }
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${LOCK_SCHEMA})`);
      try {
        await client.query(
          "CREATE TABLE IF NOT EXISTS sluice_schema (component text PRIMARY KEY, version integer NOT NULL)",
        );
        const row = (
          await client.query<{ version: number }>(
            "SELECT version FROM sluice_schema WHERE component = 'audit'",
          )
        ).rows[0];
        if (row !== undefined && row.version > FORMAT_VERSION) {
          throw new SluiceError(
            "SLUICE_STORE_FORMAT",
            `${this.#where}: the audit store was written by a newer Sluice (format ${row.version}; this version reads ${FORMAT_VERSION})`,
          );
        }
        const from = row?.version ?? 0;
        if (from < FORMAT_VERSION) {
          for (const step of MIGRATIONS.slice(from)) await client.query(step);
          await client.query(
            `INSERT INTO sluice_schema (component, version) VALUES ('audit', $1)
             ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
            [FORMAT_VERSION],
          );
        }
        // Login sessions and API keys: their own component and version (postgres-identity-schema.ts).
        await migrateIdentitySchema(client, this.#where);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    } catch (error) {
      // Opening is rare: a connection that saw any failure here is not reused.
      failed = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(failed);
    }
  }

  /**
   * Runs `work` in a transaction that `begin` (statements in one round trip) opens, on a pooled
   * connection; `work` gets the last statement's rows. A connection that failed is discarded.
   */
  async #transaction<T>(
    begin: string,
    work: (client: pg.PoolClient, opened: Record<string, unknown>[]) => Promise<T>,
  ): Promise<T> {
    await this.ready();
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      let opened: Record<string, unknown>[];
      try {
        const results = (await client.query(begin)) as unknown as pg.QueryResult | pg.QueryResult[];
        opened = (Array.isArray(results) ? results.at(-1)?.rows : results.rows) ?? [];
      } catch (error) {
        // The transaction may be half open: never hand this connection out again.
        broken = error instanceof Error ? error : new Error(String(error));
        throw error;
      }
      try {
        const result = await work(client, opened);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
        throw error;
      }
    } catch (error) {
      broken ??= isConnectionError(error) ? (error as Error) : undefined;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Runs a chain-extending transaction; a seq clash (a writer that ignored the lock) is retried once. */
  async #extend<T>(work: (client: pg.PoolClient, head: ChainHead) => Promise<T>): Promise<T> {
    const attempt = () =>
      this.#transaction(BEGIN_CHAIN, (client, rows) => {
        const row = rows[0] as { seq: string; hash: string } | undefined;
        return work(
          client,
          row === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(row.seq), hash: row.hash },
        );
      });
    try {
      return await attempt();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return attempt();
    }
  }

  async #readHead(): Promise<ChainHead> {
    const row = (await this.#pool.query<{ seq: string; hash: string }>(READ_HEAD)).rows[0];
    return row === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(row.seq), hash: row.hash };
  }

  /** Inserts records after `head` inside the caller's transaction. Returns the new head. */
  async #insertChained(
    client: pg.PoolClient,
    records: readonly PreparedRecord[],
    head: ChainHead,
  ): Promise<ChainHead> {
    const columns: unknown[][] = Array.from({ length: 12 }, () => []);
    let { seq, hash } = head;
    for (const r of records) {
      seq += 1;
      const prevHash = hash;
      hash = linkHash({ seq, prevHash, id: r.id, time: r.time, type: r.type }, r.bodyHash);
      const values = [
        seq,
        r.id,
        r.time,
        r.type,
        r.sessionId,
        r.user,
        r.connection,
        r.effect,
        r.dataJson,
        prevHash,
        r.bodyHash,
        hash,
      ];
      for (const [i, value] of values.entries()) columns[i]!.push(value);
    }
    await client.query(INSERT_ROWS, columns);
    return { seq, hash };
  }

  /**
   * Appends are written one transaction at a time per store object, in the order they were made
   * (the chain keeps this process's order), and what arrives while one is in flight is written
   * together in the next (group commit across event-loop turns).
   */
  appendAudit(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    let prepared: PreparedRecord[];
    try {
      prepared = records.map(prepare);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#appends.push({ records: prepared, resolve, reject });
      if (!this.#appending) void this.#drainAppends();
    });
  }

  async #drainAppends(): Promise<void> {
    this.#appending = true;
    try {
      while (this.#appends.length > 0) {
        const batch = this.#appends;
        this.#appends = [];
        try {
          await this.#writeAppends(batch);
          for (const append of batch) append.resolve();
        } catch (error) {
          if (batch.length === 1 || !isDataError(error)) {
            for (const append of batch) append.reject(error);
            continue;
          }
          // One append's data was refused: the others must not fall with it.
          for (const append of batch) {
            await this.#writeAppends([append]).then(append.resolve, append.reject);
          }
        }
      }
    } finally {
      this.#appending = false;
    }
  }

  #writeAppends(batch: readonly PendingAppend[]): Promise<ChainHead> {
    const records = batch.length === 1 ? batch[0]!.records : batch.flatMap((append) => append.records);
    return this.#extend((client, head) => this.#insertChained(client, records, head));
  }

  async searchAudit(query: AuditQuery): Promise<StoredAuditRecord[]> {
    await this.ready();
    const p = new Params();
    const where: string[] = ["data IS NOT NULL"];
    const add = (column: string, value: string | undefined): void => {
      if (value !== undefined) where.push(`${column} = ${p.add(value)}`);
    };
    add(`"user"`, query.user);
    add("connection", query.connection);
    add("effect", query.effect);
    add("type", query.type);
    if (query.since !== undefined) where.push(`time >= ${p.add(query.since.toISOString())}`);
    const sql = `SELECT ${COLUMNS} FROM audit_events WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ${p.add(query.limit ?? 100, "int8")}`;
    const rows = (await this.#pool.query<Row & { data: string }>(sql, p.values)).rows;
    return rows.reverse().map((row) => ({
      ...envelopeOf(row),
      seq: Number(row.seq),
      data: JSON.parse(row.data) as Record<string, unknown>,
    }));
  }

  async readAuditChain(query: ChainQuery): Promise<ChainedAuditRecord[]> {
    await this.ready();
    const p = new Params();
    const where = [`seq > ${p.add(query.afterSeq ?? 0, "int8")}`];
    if (query.type !== undefined) where.push(`type = ${p.add(query.type)}`);
    if (query.since !== undefined) where.push(`time >= ${p.add(query.since.toISOString())}`);
    const sql = `SELECT ${COLUMNS} FROM audit_events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ${p.add(query.limit, "int8")}`;
    return (await this.#pool.query<Row>(sql, p.values)).rows.map(toChained);
  }

  async auditHead(): Promise<ChainHead | undefined> {
    await this.ready();
    const head = await this.#readHead();
    return head.seq === 0 ? undefined : head;
  }

  async applyAuditRetention(request: RetentionRequest): Promise<RetentionStep | undefined> {
    const { byType, default: fallback } = request.cutoffs;
    const latest = [...Object.values(byType), ...(fallback === undefined ? [] : [fallback])].sort().at(-1);
    if (latest === undefined) return undefined;
    const prefix = request.keepBodyTypePrefix;
    // The cutoff that applies to a row's type; NULL (never expires) for unlisted types without a default.
    const cutoff = (p: Params): string =>
      `(CASE type ${Object.entries(byType)
        .map(([type, time]) => `WHEN ${p.add(type)} THEN ${p.add(time)} `)
        .join("")}ELSE ${p.add(fallback ?? null)} END)`;
    const keepsBody = (p: Params): string =>
      `substr(type, 1, ${p.add(prefix.length, "int4")}) = ${p.add(prefix)}`;

    return this.#extend(async (client, head) => {
      const find = new Params();
      const findSql = `SELECT seq FROM audit_events WHERE data IS NOT NULL AND time < ${find.add(latest)}
        AND NOT ${keepsBody(find)} AND time < ${cutoff(find)} ORDER BY time LIMIT ${find.add(request.maxRows, "int8")}`;
      const seqs = (await client.query<{ seq: string }>(findSql, find.values)).rows.map((r) => Number(r.seq));
      if (seqs.length > 0) {
        await client.query(
          `UPDATE audit_events SET session_id = NULL, "user" = NULL, connection = NULL, effect = NULL, data = NULL
           WHERE seq = ANY($1::int8[])`,
          [seqs],
        );
      }
      const redacted = seqs.length
        ? {
            count: seqs.length,
            firstSeq: seqs.reduce((a, b) => Math.min(a, b)),
            lastSeq: seqs.reduce((a, b) => Math.max(a, b)),
          }
        : null;

      // Rows that may leave with the prefix: redacted ones, and bookkeeping rows past retention.
      const lead = new Params();
      const leadSql = `SELECT seq, hash, (data IS NULL OR (${keepsBody(lead)} AND time < ${cutoff(lead)})) AS leaves
        FROM audit_events ORDER BY seq LIMIT ${lead.add(request.maxRows, "int8")}`;
      const leading = (
        await client.query<{ seq: string; hash: string; leaves: boolean | null }>(leadSql, lead.values)
      ).rows;
      let last: { seq: number; hash: string } | undefined;
      for (const row of leading) {
        const seq = Number(row.seq);
        // The newest row always stays: the chain keeps its head, and a run cannot chase its own records.
        if (!row.leaves || seq === head.seq) break;
        last = { seq, hash: row.hash };
      }
      let deleted: RetentionStep["deleted"] = null;
      if (last !== undefined) {
        const count =
          (await client.query("DELETE FROM audit_events WHERE seq <= $1::int8", [last.seq])).rowCount ?? 0;
        deleted = { count, fromSeq: Number(leading[0]!.seq), toSeq: last.seq, lastHash: last.hash };
      }
      if (redacted === null && deleted === null) return undefined;
      const result: RetentionStep = { redacted, deleted };
      await this.#insertChained(client, [prepare(request.record(result))], head);
      return result;
    });
  }

  async insertApproval(approval: StoredApproval): Promise<void> {
    const values = newApprovalValues(approval);
    await this.ready();
    await this.#pool.query(
      `INSERT INTO approvals (${APPROVAL_COLUMNS})
       VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::int4, $10::text)`,
      values,
    );
  }

  async getApproval(id: string): Promise<StoredApproval | undefined> {
    await this.ready();
    const row = (
      await this.#pool.query<ApprovalRow>(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE id = $1::text`, [
        id,
      ])
    ).rows[0];
    return row === undefined ? undefined : fromApprovalRow(row);
  }

  async listApprovals(query: ApprovalQuery): Promise<StoredApproval[]> {
    const filters = approvalFilters(query);
    const limit = approvalLimit(query);
    await this.ready();
    const p = new Params();
    const where =
      filters.length === 0
        ? ""
        : `WHERE ${filters.map(([column, value]) => `${column} = ${p.add(value)}`).join(" AND ")}`;
    const sql = `SELECT ${APPROVAL_COLUMNS} FROM approvals ${where} ORDER BY created_at DESC, id DESC LIMIT ${p.add(limit, "int8")}`;
    return (await this.#pool.query<ApprovalRow>(sql, p.values)).rows.map(fromApprovalRow);
  }

  /**
   * One compare-and-set statement: applies only while the stored version is `expectedVersion`.
   * A concurrent update of the same row waits for the first to commit, then finds the version
   * changed and updates nothing (read committed re-checks the condition on the new row).
   */
  async updateApproval(next: StoredApproval, expectedVersion: number): Promise<boolean> {
    const values = updatedApprovalValues(next, expectedVersion);
    await this.ready();
    const result = await this.#pool.query(
      `UPDATE approvals SET kind = $2::text, state = $3::text, requester = $4::text, connection = $5::text,
         command_hash = $6::text, created_at = $7::text, expires_at = $8::text, version = $9::int4, data = $10::text
       WHERE id = $1::text AND version = $11::int4`,
      [...values, expectedVersion],
    );
    return result.rowCount === 1;
  }

  async notify(channel: string, payload: string): Promise<void> {
    checkNotification(channel, payload);
    await this.ready();
    await this.#pool.query("SELECT pg_notify($1, $2)", [CHANNEL_PREFIX + channel, payload]);
  }

  async subscribe(
    channel: string,
    handler: NotificationHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    await this.ready();
    return this.#listener.subscribe(channel, handler, options);
  }

  /**
   * The store's connection pool, once the schema is ready, for a module that keeps its own tables
   * in this database under its own `sluice_schema` component (session recordings:
   * src/recording/postgres-recording-store.ts). The store closes it.
   */
  async sharedPool(): Promise<pg.Pool> {
    await this.ready();
    return this.#pool;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#ready?.catch(() => {});
    await this.#listener.close();
    await this.#pool.end();
  }
}

/** A connection-level failure (not an SQL error): the connection must not go back to the pool. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code !== "string" || code.length !== 5 || code.startsWith("08") || code.startsWith("57P");
}

/**
 * The connection string with an explicitly given password in it (the driver lets the URL's empty
 * password win over a separate one). Without one, the driver falls back to PGPASSWORD.
 */
function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** The URL as it may be shown: host, port and database (it never carries a password). */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "the PostgreSQL store";
  }
}
