import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import type { ChainedAuditRecord, Store } from "../store/index.ts";
import { CursorSink, type RetryBackoff } from "./cursor-sink.ts";
import { toJsonLine } from "./export-line.ts";

export interface JsonlSinkOptions {
  readonly store: Store;
  /** The JSON-lines file events are appended to. */
  readonly path: string;
  /** Where the last exported seq is kept. Default: `<path>.cursor`. */
  readonly cursorPath?: string;
  /** How often the store is looked at when the sink has caught up. Default 250 ms. */
  readonly pollMs?: number;
  /** Events per append. Default 1000. */
  readonly batchSize?: number;
  /** Backoff after a failed append. Default: from `pollMs`, doubling up to 30 s. */
  readonly retry?: RetryBackoff;
  readonly log: (message: string) => void;
}

const TAIL_CHUNK = 64 * 1024;

/**
 * A live JSON-lines file sink: tails the store by seq and appends each event as one line.
 *
 * Each event is delivered exactly once, across restarts and crashes: a batch is appended and
 * flushed to disk before the cursor (the last exported seq) is replaced atomically.
 * On start the file is reconciled with the cursor: a partial last line (a crash in mid-append) is
 * cut off, and complete lines beyond the cursor (a crash between append and cursor) advance the
 * cursor instead of being appended again.
 */
export class JsonlFileSink extends CursorSink {
  readonly path: string;
  readonly name: string;

  constructor(private readonly options: JsonlSinkOptions) {
    super({ ...options, cursorPath: options.cursorPath ?? `${options.path}.cursor` });
    this.path = options.path;
    this.name = options.path;
  }

  protected override async deliver(rows: readonly ChainedAuditRecord[]): Promise<number> {
    await this.append(rows.map(toJsonLine).join(""));
    return rows.length;
  }

  protected override cursorHint(): string {
    return `remove it to export from the last line of ${this.path}`;
  }

  /** Appends and flushes; on failure the file is cut back so that no partial line stays. */
  private async append(text: string): Promise<void> {
    const file = await open(this.path, "a", 0o600);
    try {
      const { size } = await file.stat();
      try {
        await file.write(text);
        await file.datasync();
      } catch (error) {
        await file.truncate(size).catch(() => {});
        throw error;
      }
    } finally {
      await file.close();
    }
  }

  /** The cursor, advanced past complete lines already in the file; a partial last line is cut. */
  protected override async resume(cursor: number): Promise<number> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    let file: Awaited<ReturnType<typeof open>>;
    try {
      file = await open(this.path, "r+");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return cursor;
      throw error;
    }
    let lastLine: string | undefined;
    try {
      const { size } = await file.stat();
      const end = await lastNewline(file, size);
      if (end + 1 < size) {
        this.options.log(`audit sink ${this.path}: removing a partial last line (${size - end - 1} bytes)`);
        await file.truncate(end + 1);
        await file.sync();
      }
      if (end >= 0) {
        const start = (await lastNewline(file, end)) + 1;
        const buffer = Buffer.alloc(end - start);
        await file.read(buffer, 0, buffer.length, start);
        lastLine = buffer.toString("utf8");
      }
    } finally {
      await file.close();
    }
    if (lastLine === undefined) return cursor;
    let seq: unknown;
    try {
      seq = (JSON.parse(lastLine) as { seq?: unknown }).seq;
    } catch {
      seq = undefined;
    }
    if (typeof seq !== "number" || !Number.isSafeInteger(seq)) {
      throw new SluiceError(
        ErrorCodes.configInvalid,
        `audit sink ${this.path}: the last line is not an exported event; move the file aside to start a new one`,
      );
    }
    if (seq > cursor) {
      const hash = (JSON.parse(lastLine) as { hash?: unknown }).hash;
      await this.moveCursor(seq, typeof hash === "string" ? hash : "");
      return seq;
    }
    return cursor;
  }
}

/** Offset of the last LF before `end`, or -1. */
async function lastNewline(file: Awaited<ReturnType<typeof open>>, end: number): Promise<number> {
  let position = end;
  const buffer = Buffer.alloc(TAIL_CHUNK);
  while (position > 0) {
    const length = Math.min(TAIL_CHUNK, position);
    position -= length;
    await file.read(buffer, 0, length, position);
    const index = buffer.subarray(0, length).lastIndexOf(0x0a);
    if (index >= 0) return position + index;
  }
  return -1;
}
