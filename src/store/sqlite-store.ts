import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
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
import { acquireLocalBus, type LocalNotificationBus } from "./notifications.ts";
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
 * The file format this code writes (`PRAGMA user_version`): 0 is the unchained format before
 * the chain, 1 added the chain, 2 the approvals table.
 */
const FORMAT_VERSION = 2;

const TABLE = `(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  time TEXT NOT NULL,
  type TEXT NOT NULL,
  session_id TEXT,
  user TEXT,
  connection TEXT,
  effect TEXT,
  data TEXT,
  prev_hash TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  hash TEXT NOT NULL
)`;

/** Searches and retention only look at events that still have their body. */
const INDEXES = "CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events(time) WHERE data IS NOT NULL;";

/** Approval requests (approval-rows.ts), indexed for the approvals module's queries. */
const APPROVALS_SCHEMA = `CREATE TABLE approvals (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  requester TEXT NOT NULL,
  connection TEXT NOT NULL,
  command_hash TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  version INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX approvals_created ON approvals(created_at);
CREATE INDEX approvals_state ON approvals(state, created_at);
CREATE INDEX approvals_requester ON approvals(requester, created_at);
CREATE INDEX approvals_command ON approvals(connection, command_hash);`;

const COLUMNS = "seq, id, time, type, session_id, user, connection, effect, data, prev_hash, body_hash, hash";

interface Row {
  seq: number;
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

type RowValues = [
  number,
  string,
  string,
  string,
  string | null,
  string | null,
  string | null,
  string | null,
  string,
  string,
  string,
  string,
];

/** Computes the chained row for `record` at `seq` after `prevHash` (see chain.ts). */
function chainRow(record: AuditRecord, seq: number, prevHash: string): RowValues {
  const id = wellFormed(record.id);
  const time = wellFormed(record.time);
  const type = wellFormed(record.type);
  const sessionId = wellFormed(record.sessionId);
  const user = wellFormed(record.user);
  const connection = wellFormed(record.connection);
  const effect = wellFormed(record.effect);
  const dataJson = record.dataJson ?? JSON.stringify(record.data);
  if (typeof dataJson !== "string") throw new TypeError("audit data must be a JSON object");
  const body = bodyHash({ sessionId, user, connection, effect, dataJson });
  const hash = linkHash({ seq, prevHash, id, time, type }, body);
  return [seq, id, time, type, sessionId, user, connection, effect, dataJson, prevHash, body, hash];
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
    seq: row.seq,
    dataJson: row.data,
    prevHash: row.prev_hash,
    bodyHash: row.body_hash,
    hash: row.hash,
  };
}

const isPrimaryKeyClash = (error: unknown): boolean =>
  (error as { code?: unknown }).code === "SQLITE_CONSTRAINT_PRIMARYKEY";

/**
 * The embedded store: one SQLite file in WAL mode. Writes are synchronous and batched by callers.
 *
 * The audit trail is a hash chain with one writer per file: the head (last seq and hash) is read
 * once at open and kept in memory, and each append computes its rows' hashes inside the insert
 * transaction. Rows are inserted with explicit seqs, so a second writer cannot fork the chain: its
 * clash aborts the transaction, the head is read again and the batch is chained once more.
 *
 * A file of the unchained format (before the chain existed) is upgraded when opened: its rows are
 * chained in seq order in one transaction. A file of a newer format is refused.
 *
 * Notifications stay inside this process: every store object of the same file shares one bus.
 */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  private readonly db: Database.Database;
  private readonly insertMany: (records: readonly AuditRecord[], head: ChainHead) => ChainHead;
  private readonly insertRow: Database.Statement<RowValues>;
  private head: ChainHead;
  private readonly bus: LocalNotificationBus;
  private readonly releaseBus: () => void;
  private readonly subscriptions = new Set<Subscription>();

  constructor(path: string, options: { busyTimeoutMs?: number; log?: (message: string) => void } = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 2000 });
    try {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.transaction(() => this.ensureFormat(path)).immediate();
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.insertRow = this.db.prepare<RowValues>(
      `INSERT INTO audit_events (${COLUMNS}) VALUES (${"?, ".repeat(11)}?)`,
    );
    this.insertMany = this.db.transaction((records: readonly AuditRecord[], head: ChainHead) =>
      this.insertChained(records, head),
    );
    this.head = this.readHead();
    const log = options.log ?? ((message: string) => process.stderr.write(`sluice: ${message}\n`));
    ({ bus: this.bus, release: this.releaseBus } = acquireLocalBus(path, log));
  }

  async ready(): Promise<void> {
    if (!this.db.open) throw new SluiceError("SLUICE_STORE_CLOSED", "the store is closed");
  }

  private ensureFormat(path: string): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version === FORMAT_VERSION) return;
    if (version > FORMAT_VERSION) {
      throw new SluiceError(
        "SLUICE_STORE_FORMAT",
        `${path}: the audit store was written by a newer Sluice (format ${version}; this version reads ${FORMAT_VERSION})`,
      );
    }
    if (version < 1) {
      const legacy = this.db
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'")
        .get();
      if (legacy === undefined) {
        this.db.exec(`CREATE TABLE audit_events ${TABLE}; ${INDEXES}`);
      } else {
        this.upgradeUnchained();
      }
    }
    if (version < 2) this.db.exec(APPROVALS_SCHEMA);
    this.db.pragma(`user_version = ${FORMAT_VERSION}`);
  }

  /** Format 0 had no chain: copy its rows in seq order into a chained table. */
  private upgradeUnchained(): void {
    this.db.exec(`CREATE TABLE audit_events_chained ${TABLE}`);
    const insert = this.db.prepare<RowValues>(
      `INSERT INTO audit_events_chained (${COLUMNS}) VALUES (${"?, ".repeat(11)}?)`,
    );
    const page = this.db.prepare(
      "SELECT seq, id, time, type, session_id, user, connection, effect, data FROM audit_events WHERE seq > ? ORDER BY seq LIMIT 10000",
    );
    let prevHash = GENESIS_HASH;
    let afterSeq = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const rows = page.all(afterSeq) as (Omit<Row, "prev_hash" | "body_hash" | "hash"> & { data: string })[];
      if (rows.length === 0) break;
      for (const row of rows) {
        const values = chainRow(
          {
            id: row.id,
            time: row.time,
            type: row.type,
            sessionId: row.session_id,
            user: row.user,
            connection: row.connection,
            effect: row.effect,
            data: {},
            dataJson: row.data,
          },
          row.seq,
          prevHash,
        );
        insert.run(...values);
        prevHash = values[11];
        afterSeq = row.seq;
      }
    }
    this.db.exec(
      `DROP TABLE audit_events; ALTER TABLE audit_events_chained RENAME TO audit_events; ${INDEXES}`,
    );
  }

  private readHead(): ChainHead {
    const row = this.db.prepare("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").get() as
      | ChainHead
      | undefined;
    return row ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** Inserts records after `head`; call inside a transaction. Returns the new head. */
  private insertChained(records: readonly AuditRecord[], head: ChainHead): ChainHead {
    let { seq, hash } = head;
    for (const record of records) {
      const values = chainRow(record, seq + 1, hash);
      this.insertRow.run(...values);
      seq = values[0];
      hash = values[11];
    }
    return { seq, hash };
  }

  /** Runs a chain-extending transaction; on a seq clash (another writer) re-reads the head once. */
  private extend<T>(write: (head: ChainHead) => { result: T; head: ChainHead }): T {
    let outcome: { result: T; head: ChainHead };
    try {
      outcome = write(this.head);
    } catch (error) {
      if (!isPrimaryKeyClash(error)) throw error;
      this.head = this.readHead();
      outcome = write(this.head);
    }
    this.head = outcome.head;
    return outcome.result;
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.extend((head) => ({ result: undefined, head: this.insertMany(records, head) }));
  }

  async searchAudit(query: AuditQuery): Promise<StoredAuditRecord[]> {
    const where: string[] = ["data IS NOT NULL"];
    const args: (string | number)[] = [];
    const add = (clause: string, value: string | number | undefined): void => {
      if (value === undefined) return;
      where.push(clause);
      args.push(value);
    };
    add("user = ?", query.user);
    add("connection = ?", query.connection);
    add("effect = ?", query.effect);
    add("type = ?", query.type);
    add("time >= ?", query.since?.toISOString());
    const sql = `SELECT * FROM audit_events WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, query.limit ?? 100) as (Row & { data: string })[];
    return rows.reverse().map((row) => ({
      ...envelopeOf(row),
      seq: row.seq,
      data: JSON.parse(row.data) as Record<string, unknown>,
    }));
  }

  async readAuditChain(query: ChainQuery): Promise<ChainedAuditRecord[]> {
    const where = ["seq > ?"];
    const args: (string | number)[] = [query.afterSeq ?? 0];
    if (query.type !== undefined) {
      where.push("type = ?");
      args.push(query.type);
    }
    if (query.since !== undefined) {
      where.push("time >= ?");
      args.push(query.since.toISOString());
    }
    const sql = `SELECT ${COLUMNS} FROM audit_events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`;
    return (this.db.prepare(sql).all(...args, query.limit) as Row[]).map(toChained);
  }

  async auditHead(): Promise<ChainHead | undefined> {
    const head = this.readHead();
    return head.seq === 0 ? undefined : head;
  }

  async applyAuditRetention(request: RetentionRequest): Promise<RetentionStep | undefined> {
    const { byType, default: fallback } = request.cutoffs;
    const types = Object.keys(byType);
    // The cutoff that applies to a row's type; NULL (never expires) for unlisted types without a default.
    const cutoff = `(CASE type ${types.map(() => "WHEN ? THEN ? ").join("")}ELSE ? END)`;
    const cutoffArgs = [...types.flatMap((t) => [t, byType[t] ?? ""]), fallback ?? null];
    const latest = [...Object.values(byType), ...(fallback === undefined ? [] : [fallback])].sort().at(-1);
    if (latest === undefined) return undefined;
    const prefix = request.keepBodyTypePrefix;
    const keepsBody = "substr(type, 1, ?) = ?";
    const expired = `time < ${cutoff}`;
    const findRedactable = this.db.prepare(
      `SELECT seq FROM audit_events WHERE data IS NOT NULL AND time < ? AND NOT ${keepsBody} AND ${expired} ORDER BY time LIMIT ?`,
    );
    const redact = this.db.prepare(
      "UPDATE audit_events SET session_id = NULL, user = NULL, connection = NULL, effect = NULL, data = NULL WHERE seq = ?",
    );
    // Rows that may leave with the prefix: redacted ones, and bookkeeping rows past retention.
    const prefixRows = this.db.prepare(
      `SELECT seq, hash, (data IS NULL OR (${keepsBody} AND ${expired})) AS leaves FROM audit_events ORDER BY seq LIMIT ?`,
    );
    const deletePrefix = this.db.prepare("DELETE FROM audit_events WHERE seq <= ?");

    const step = this.db.transaction((head: ChainHead) => {
      const seqs = (
        findRedactable.all(latest, prefix.length, prefix, ...cutoffArgs, request.maxRows) as { seq: number }[]
      ).map((r) => r.seq);
      for (const seq of seqs) redact.run(seq);
      const redacted = seqs.length
        ? {
            count: seqs.length,
            firstSeq: seqs.reduce((a, b) => Math.min(a, b)),
            lastSeq: seqs.reduce((a, b) => Math.max(a, b)),
          }
        : null;

      const leading = prefixRows.all(prefix.length, prefix, ...cutoffArgs, request.maxRows) as {
        seq: number;
        hash: string;
        leaves: number;
      }[];
      let last: { seq: number; hash: string } | undefined;
      for (const row of leading) {
        // The newest row always stays: the chain keeps its head, and a run cannot chase its own records.
        if (!row.leaves || row.seq === head.seq) break;
        last = row;
      }
      let deleted: RetentionStep["deleted"] = null;
      if (last !== undefined) {
        const count = deletePrefix.run(last.seq).changes;
        deleted = { count, fromSeq: leading[0]!.seq, toSeq: last.seq, lastHash: last.hash };
      }
      if (redacted === null && deleted === null) return { result: undefined, head };
      const result: RetentionStep = { redacted, deleted };
      return { result, head: this.insertChained([request.record(result)], head) };
    });
    return this.extend((head) => step.immediate(head));
  }

  async insertApproval(approval: StoredApproval): Promise<void> {
    const values = newApprovalValues(approval);
    this.db
      .prepare(`INSERT INTO approvals (${APPROVAL_COLUMNS}) VALUES (${"?, ".repeat(9)}?)`)
      .run(...values);
  }

  async getApproval(id: string): Promise<StoredApproval | undefined> {
    const row = this.db.prepare(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE id = ?`).get(id) as
      | ApprovalRow
      | undefined;
    return row === undefined ? undefined : fromApprovalRow(row);
  }

  async listApprovals(query: ApprovalQuery): Promise<StoredApproval[]> {
    const filters = approvalFilters(query);
    const limit = approvalLimit(query);
    const where =
      filters.length === 0 ? "" : `WHERE ${filters.map(([column]) => `${column} = ?`).join(" AND ")}`;
    const sql = `SELECT ${APPROVAL_COLUMNS} FROM approvals ${where} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...filters.map(([, value]) => value), limit) as ApprovalRow[];
    return rows.map(fromApprovalRow);
  }

  /** One compare-and-set statement: applies only while the stored version is `expectedVersion`. */
  async updateApproval(next: StoredApproval, expectedVersion: number): Promise<boolean> {
    const [id, ...rest] = updatedApprovalValues(next, expectedVersion);
    const result = this.db
      .prepare(
        `UPDATE approvals SET kind = ?, state = ?, requester = ?, connection = ?, command_hash = ?,
           created_at = ?, expires_at = ?, version = ?, data = ? WHERE id = ? AND version = ?`,
      )
      .run(...rest, id, expectedVersion);
    return result.changes === 1;
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.ready();
    await this.bus.notify(channel, payload);
  }

  async subscribe(
    channel: string,
    handler: NotificationHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    await this.ready();
    const inner = await this.bus.subscribe(channel, handler, options);
    const subscription: Subscription = {
      unsubscribe: async () => {
        this.subscriptions.delete(subscription);
        await inner.unsubscribe();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    for (const subscription of [...this.subscriptions]) await subscription.unsubscribe();
    this.releaseBus();
    this.db.close();
  }
}
