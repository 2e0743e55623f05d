import type pg from "pg";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import { isValidSessionId, type RecordingStore } from "./store.ts";

/** The PostgreSQL store, as far as recordings need it (`PostgresStore`). */
export interface RecordingPoolSource {
  /** Its connection pool, once its own schema (with `sluice_schema`) is ready. */
  sharedPool(): Promise<pg.Pool>;
}

export interface PostgresRecordingStoreOptions {
  readonly store: RecordingPoolSource;
  /** The store's URL (without a password); only host, port and database are shown in messages. */
  readonly url: string;
  /** Bytes of lines written in one INSERT at most (several sessions' appends together). Default 4 MiB. */
  readonly maxBatchBytes?: number;
}

/** The `sluice_schema` component and version of the recording tables; apart from the audit store's. */
const COMPONENT = "recordings";
const FORMAT_VERSION = 1;

/** The PostgreSQL store's schema lock (src/store/postgres-store.ts): schema changes run one at a time. */
const LOCK_CLASS = 0x536c7563;
const LOCK_SCHEMA = 1;

/**
 * One row per recording, one row per line (`part` 1, 2, 3, … in the order written). A recording's
 * bytes are its parts' texts concatenated in part order: the same bytes a recording file holds.
 */
const SCHEMA_V1 = `
CREATE TABLE recording_sessions (
  session_id text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE recording_chunks (
  session_id text NOT NULL REFERENCES recording_sessions (session_id) ON DELETE CASCADE,
  part bigint NOT NULL,
  text text NOT NULL,
  PRIMARY KEY (session_id, part)
);`;

const INSERT_PARTS = `INSERT INTO recording_chunks (session_id, part, text)
  SELECT * FROM unnest($1::text[], $2::int8[], $3::text[])`;

/** The parts that end after `fromByte`, with where each ends (bytes from the recording's start). */
const READ_FROM = `SELECT text, end_byte::text AS end_byte FROM (
    SELECT part, text, sum(octet_length(text)) OVER (ORDER BY part) AS end_byte
    FROM recording_chunks WHERE session_id = $1::text
  ) parts
  WHERE end_byte > $2::int8 ORDER BY part`;

interface PendingAppend {
  readonly sessionId: string;
  readonly parts: readonly number[];
  readonly texts: readonly string[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const isUniqueViolation = (error: unknown): boolean => (error as { code?: unknown }).code === "23505";

/** An SQL error (five-character SQLSTATE outside connection classes): that statement's fault alone. */
const isStatementError = (error: unknown): boolean => {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && code.length === 5 && !code.startsWith("08") && !code.startsWith("57P");
};

/**
 * Recordings in the PostgreSQL store's database (`recordings.storage: store`), on its connection
 * pool. Each line the recorder appends becomes one `recording_chunks` row; `read` concatenates the
 * rows in part order, so verification sees exactly the bytes a recording file would hold, and an
 * edited, deleted or reordered row shows as an edited, deleted or reordered chunk.
 *
 * Appends of all sessions are written together: one INSERT at a time for the whole store object,
 * and what arrives meanwhile goes into the next (the recordings take at most one pooled connection
 * at a time from the audit trail's). An append resolves when its INSERT committed.
 */
export class PostgresRecordingStore implements RecordingStore {
  readonly location: string;
  readonly #store: RecordingPoolSource;
  readonly #maxBatchBytes: number;
  /** Open recordings: the next part number of each. */
  readonly #open = new Map<string, number>();
  #ready: Promise<pg.Pool> | undefined;
  #queue: PendingAppend[] = [];
  #writing = false;

  constructor(options: PostgresRecordingStoreOptions) {
    this.#store = options.store;
    this.location = `${describeUrl(options.url)} (recording_chunks)`;
    this.#maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 ** 2;
  }

  /** The pool, once the recording tables exist (created or checked once; again after a failure). */
  #pool(): Promise<pg.Pool> {
    this.#ready ??= this.#migrate().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #migrate(): Promise<pg.Pool> {
    const pool = await this.#store.sharedPool();
    const client = await pool.connect();
    let failed: Error | undefined;
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${LOCK_SCHEMA})`);
      try {
        const row = (
          await client.query<{ version: number }>("SELECT version FROM sluice_schema WHERE component = $1", [
            COMPONENT,
          ])
        ).rows[0];
        if (row === undefined) {
          await client.query(SCHEMA_V1);
          await client.query("INSERT INTO sluice_schema (component, version) VALUES ($1, $2)", [
            COMPONENT,
            FORMAT_VERSION,
          ]);
        } else if (row.version > FORMAT_VERSION) {
          throw new SluiceError(
            ErrorCodes.recordingUnavailable,
            `${this.location}: the recording tables were written by a newer Sluice (format ${row.version}; this version reads ${FORMAT_VERSION})`,
          );
        }
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    } catch (error) {
      failed = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(failed);
    }
    return pool;
  }

  #checkId(sessionId: string): void {
    if (!isValidSessionId(sessionId)) {
      throw new SluiceError(
        ErrorCodes.recordingUnavailable,
        `not a valid recording id: ${JSON.stringify(sessionId)}`,
      );
    }
  }

  async create(sessionId: string): Promise<void> {
    this.#checkId(sessionId);
    if (this.#open.has(sessionId)) {
      throw new SluiceError(ErrorCodes.recordingUnavailable, `recording ${sessionId}: already open`);
    }
    const pool = await this.#pool();
    try {
      await pool.query("INSERT INTO recording_sessions (session_id) VALUES ($1::text)", [sessionId]);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new SluiceError(
        ErrorCodes.recordingUnavailable,
        `${this.location}: a recording of session ${sessionId} exists already`,
      );
    }
    this.#open.set(sessionId, 1);
  }

  append(sessionId: string, text: string): Promise<void> {
    const next = this.#open.get(sessionId);
    if (next === undefined) {
      return Promise.reject(
        new SluiceError(ErrorCodes.recordingUnavailable, `recording ${sessionId}: not open for writing`),
      );
    }
    const texts = splitLines(text);
    if (texts.length === 0) return Promise.resolve();
    const parts = texts.map((_, i) => next + i);
    // Numbered now, in call order: the rows keep the order of the appends whatever the batching.
    this.#open.set(sessionId, next + texts.length);
    return new Promise((resolve, reject) => {
      this.#queue.push({ sessionId, parts, texts, bytes: Buffer.byteLength(text), resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        try {
          await this.#insert(batch);
          for (const append of batch) append.resolve();
        } catch (error) {
          if (batch.length === 1 || !isStatementError(error)) {
            for (const append of batch) append.reject(error);
            continue;
          }
          // One append's rows were refused: the other sessions' must not fail with it.
          for (const append of batch) await this.#insert([append]).then(append.resolve, append.reject);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /** The oldest appends up to the batch size (at least one). */
  #takeBatch(): PendingAppend[] {
    let bytes = 0;
    let count = 0;
    for (const append of this.#queue) {
      if (count > 0 && bytes + append.bytes > this.#maxBatchBytes) break;
      bytes += append.bytes;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  async #insert(batch: readonly PendingAppend[]): Promise<void> {
    const pool = await this.#pool();
    const sessions: string[] = [];
    const parts: number[] = [];
    const texts: string[] = [];
    for (const append of batch) {
      for (const [i, text] of append.texts.entries()) {
        sessions.push(append.sessionId);
        parts.push(append.parts[i]!);
        texts.push(text);
      }
    }
    await pool.query(INSERT_PARTS, [sessions, parts, texts]);
  }

  async close(sessionId: string): Promise<void> {
    this.#open.delete(sessionId);
  }

  async list(): Promise<string[]> {
    const pool = await this.#pool();
    const rows = (await pool.query<{ session_id: string }>("SELECT session_id FROM recording_sessions")).rows;
    return rows.map((row) => row.session_id).filter(isValidSessionId);
  }

  async read(sessionId: string, fromByte = 0): Promise<Buffer> {
    this.#checkId(sessionId);
    const pool = await this.#pool();
    const rows = (await pool.query<{ text: string; end_byte: string }>(READ_FROM, [sessionId, fromByte]))
      .rows;
    if (rows.length === 0) {
      const known = await pool.query("SELECT 1 FROM recording_sessions WHERE session_id = $1::text", [
        sessionId,
      ]);
      if (known.rowCount === 0) throw notFound(sessionId, this.location);
      return Buffer.alloc(0);
    }
    const data = Buffer.from(rows.map((row) => row.text).join(""), "utf8");
    // The first part may begin before `fromByte`.
    const first = rows[0]!;
    const firstStart = Number(first.end_byte) - Buffer.byteLength(first.text, "utf8");
    return data.subarray(Math.max(0, fromByte - firstStart));
  }
}

/** Whole lines, each with its LF; text after the last LF (never written by the recorder) is a part too. */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
    lines.push(text.slice(start, end + 1));
    start = end + 1;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/** Like a missing recording file: `code` ENOENT, which readers (the CLI) treat as "no such recording". */
function notFound(sessionId: string, location: string): Error {
  const error = new Error(`no recording of session ${sessionId} in ${location}`) as NodeJS.ErrnoException;
  error.code = "ENOENT";
  return error;
}

/** Host, port and database only. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "the PostgreSQL store";
  }
}
