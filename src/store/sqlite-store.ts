import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { AuditQuery, AuditRecord, Store, StoredAuditRecord } from "./store.ts";

const schema = `
CREATE TABLE IF NOT EXISTS audit_events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  time TEXT NOT NULL,
  type TEXT NOT NULL,
  session_id TEXT,
  user TEXT,
  connection TEXT,
  effect TEXT,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events(time);
`;

interface Row {
  seq: number;
  id: string;
  time: string;
  type: string;
  session_id: string | null;
  user: string | null;
  connection: string | null;
  effect: string | null;
  data: string;
}

/** The embedded store: one SQLite file in WAL mode. Writes are synchronous and batched by callers. */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  private readonly db: Database.Database;
  private readonly insertMany: (records: readonly AuditRecord[]) => void;

  constructor(path: string, options: { busyTimeoutMs?: number } = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 2000 });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(schema);
    const insert = this.db.prepare(
      "INSERT INTO audit_events (id, time, type, session_id, user, connection, effect, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.insertMany = this.db.transaction((records: readonly AuditRecord[]) => {
      for (const r of records) {
        insert.run(
          r.id,
          r.time,
          r.type,
          r.sessionId,
          r.user,
          r.connection,
          r.effect,
          r.dataJson ?? JSON.stringify(r.data),
        );
      }
    });
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    this.insertMany(records);
  }

  async searchAudit(query: AuditQuery): Promise<StoredAuditRecord[]> {
    const where: string[] = [];
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
    const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, query.limit ?? 100) as Row[];
    return rows.reverse().map((row) => ({
      seq: row.seq,
      id: row.id,
      time: row.time,
      type: row.type,
      sessionId: row.session_id,
      user: row.user,
      connection: row.connection,
      effect: row.effect,
      data: JSON.parse(row.data) as Record<string, unknown>,
    }));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
