/**
 * Where recordings live. One recording per session, written by one gateway process: created
 * once, appended to in order, closed after its seal. `FileRecordingStore` is the default;
 * `PostgresRecordingStore` keeps them in the PostgreSQL store's database (one row per line).
 */
export interface RecordingStore {
  /** A human description for messages (a directory, a URL without secrets). */
  readonly location: string;
  /** Creates an empty recording; fails when one exists for `sessionId`. */
  create(sessionId: string): Promise<void>;
  /**
   * Appends complete lines (each ending in LF) in order. Resolves when they are as durable as the
   * store promises (FileRecordingStore: written and fdatasync'd).
   */
  append(sessionId: string, text: string): Promise<void>;
  /** Releases what the store holds for the recording (after its seal, or when it failed). */
  close(sessionId: string): Promise<void>;
  /** Ids of the stored recordings, in no particular order. */
  list(): Promise<string[]>;
  /**
   * The recording's bytes from `fromByte` on (empty when nothing new); rejects when there is no
   * such recording, with an error whose `code` is `ENOENT`.
   */
  read(sessionId: string, fromByte?: number): Promise<Buffer>;
}

/** Session ids become file names and keys: letters, digits, `.`, `_`, `-`, not starting with `.`. */
const SESSION_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export function isValidSessionId(id: string): boolean {
  return SESSION_ID.test(id);
}
