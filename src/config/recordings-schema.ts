import { resolve } from "node:path";
import { z } from "zod";
import { formatSize, parseSize } from "./size.ts";

/** Session recordings (docs/recording.md). */
export interface RecordingsConfig {
  /** Record every session. Default true. */
  readonly enabled: boolean;
  /**
   * Where recordings are kept: `files` (default), one JSON-lines file per session in `dir`, or
   * `store`, the PostgreSQL store's database (needs `store: postgres://…`).
   */
  readonly storage: RecordingStorage;
  /** Absolute path of the directory with one `<session-id>.jsonl` file per session (`storage: files`). */
  readonly dir: string;
  /** A recording stops growing at this size (a truncation marker, then its end and seal). */
  readonly maxBytesPerSession: number;
  /** Rows of one statement's result kept in the recording; the rest are counted and marked. */
  readonly maxRowsPerStatement: number;
  /**
   * fdatasync after every write. Off by default: writes reach the operating system at once, so a
   * killed gateway loses nothing; only an operating-system crash can lose the last writes.
   */
  readonly fsync: boolean;
}

export type RecordingStorage = "files" | "store";

export const RECORDING_STORAGES = ["files", "store"] as const satisfies readonly RecordingStorage[];

export const RECORDINGS_DEFAULTS = {
  enabled: true,
  storage: "files",
  dir: "./data/recordings",
  maxBytesPerSession: 64 * 1024 ** 2,
  maxRowsPerStatement: 100,
  fsync: false,
} as const;

const MIN_BYTES = 64 * 1024;
const MAX_BYTES = 64 * 1024 ** 3;
const MAX_ROWS = 1_000_000;

type Ctx = z.core.$RefinementCtx;

function fail(ctx: Ctx, message: string): never {
  ctx.issues.push({ code: "custom", message, input: undefined });
  return z.NEVER;
}

/** A schema-level message that leaves "missing required key" to the per-parse error map. */
function unlessMissing(message: string) {
  return (issue: { readonly input?: unknown }) => (issue.input === undefined ? undefined : message);
}

const STORAGE_MESSAGE = "expected files or store";

/** The message for `recordings.storage: store` without a PostgreSQL store; undefined when they fit. */
export function recordingStorageProblem(
  storage: RecordingStorage,
  store: { readonly kind: string },
): string | undefined {
  return storage === "store" && store.kind !== "postgres"
    ? "recordings in the store need store: postgres://<host>/<database> (the configured store is SQLite); use storage: files to keep them in recordings.dir"
    : undefined;
}

const SIZE_MESSAGE = `expected a size between ${formatSize(MIN_BYTES)} and ${formatSize(MAX_BYTES)}, e.g. 64MiB or 1GiB`;
const ROWS_MESSAGE = `expected a whole number between 0 and ${MAX_ROWS}`;

/** The `recordings` section; relative `dir` paths are resolved against the configuration's directory. */
export function recordingsSchema(baseDir: string) {
  return z
    .strictObject({
      enabled: z
        .boolean({ error: unlessMissing("expected true or false") })
        .prefault(RECORDINGS_DEFAULTS.enabled),
      storage: z
        .enum(RECORDING_STORAGES, { error: unlessMissing(STORAGE_MESSAGE) })
        .prefault(RECORDINGS_DEFAULTS.storage),
      dir: z
        .string({ error: unlessMissing("expected a directory path") })
        .min(1, { error: "expected a directory path" })
        .prefault(RECORDINGS_DEFAULTS.dir),
      max_bytes_per_session: z
        .union([z.string(), z.number()], { error: unlessMissing(SIZE_MESSAGE) })
        .transform((value, ctx) => {
          const bytes = parseSize(value);
          return bytes !== undefined && bytes >= MIN_BYTES && bytes <= MAX_BYTES
            ? bytes
            : fail(ctx, SIZE_MESSAGE);
        })
        .prefault(RECORDINGS_DEFAULTS.maxBytesPerSession),
      max_rows_per_statement: z
        .number({ error: unlessMissing(ROWS_MESSAGE) })
        .int({ error: ROWS_MESSAGE })
        .min(0, { error: ROWS_MESSAGE })
        .max(MAX_ROWS, { error: ROWS_MESSAGE })
        .prefault(RECORDINGS_DEFAULTS.maxRowsPerStatement),
      fsync: z
        .boolean({ error: unlessMissing("expected true or false") })
        .prefault(RECORDINGS_DEFAULTS.fsync),
    })
    .transform(
      (value): RecordingsConfig => ({
        enabled: value.enabled,
        storage: value.storage,
        dir: resolve(baseDir, value.dir),
        maxBytesPerSession: value.max_bytes_per_session,
        maxRowsPerStatement: value.max_rows_per_statement,
        fsync: value.fsync,
      }),
    );
}
