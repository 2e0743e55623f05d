import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import type { Store } from "../store/index.ts";
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
export class JsonlFileSink {
  readonly path: string;
  readonly cursorPath: string;
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> = Promise.resolve();
  private stopped = false;
  private failing = false;

  constructor(private readonly options: JsonlSinkOptions) {
    this.path = options.path;
    this.cursorPath = options.cursorPath ?? `${options.path}.cursor`;
  }

  /** The last seq known to be in the file. */
  get exportedThrough(): number {
    return this.cursor;
  }

  /** Reconciles file and cursor, then exports in the background until closed. */
  async start(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    this.cursor = await this.reconcile();
    this.schedule(0);
  }

  /** Exports everything in the store now (after any export in progress). */
  async drain(): Promise<void> {
    const next = this.pumping.then(async () => {
      while (await this.exportBatch()) {
        // until caught up
      }
    });
    this.pumping = next.catch(() => {});
    await next;
  }

  /** Stops the background export after a final drain. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.drain();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pumping = this.pumping.then(() => this.tick());
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let more = false;
    try {
      more = await this.exportBatch();
      if (this.failing) this.options.log(`audit sink ${this.path}: writing again`);
      this.failing = false;
    } catch (error) {
      if (!this.failing)
        this.options.log(`audit sink ${this.path}: cannot write, will retry: ${String(error)}`);
      this.failing = true;
    }
    this.schedule(more ? 0 : (this.options.pollMs ?? 250));
  }

  /** Appends the next batch after the cursor; returns whether there was one. */
  private async exportBatch(): Promise<boolean> {
    const rows = await this.options.store.readAuditChain({
      afterSeq: this.cursor,
      limit: this.options.batchSize ?? 1000,
    });
    const first = rows[0];
    const last = rows.at(-1);
    if (first === undefined || last === undefined) return false;
    if (this.cursor > 0 && first.seq !== this.cursor + 1) {
      this.options.log(
        `audit sink ${this.path}: seq ${this.cursor + 1}..${first.seq - 1} left the store (retention) before they were exported`,
      );
    }
    await this.append(rows.map(toJsonLine).join(""));
    await this.writeCursor(last.seq, last.hash);
    this.cursor = last.seq;
    return true;
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

  private async writeCursor(seq: number, hash: string): Promise<void> {
    const temporary = `${this.cursorPath}.tmp`;
    const file = await open(temporary, "w", 0o600);
    try {
      await file.write(`${JSON.stringify({ seq, hash })}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, this.cursorPath);
  }

  private async readCursor(): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.cursorPath, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw error;
    }
    const seq = (() => {
      try {
        return (JSON.parse(text) as { seq?: unknown }).seq;
      } catch {
        return undefined;
      }
    })();
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) {
      throw new SluiceError(
        ErrorCodes.configInvalid,
        `audit sink cursor ${this.cursorPath} is unreadable; remove it to export from the last line of ${this.path}`,
      );
    }
    return seq;
  }

  /** The cursor, advanced past complete lines already in the file; a partial last line is cut. */
  private async reconcile(): Promise<number> {
    await rm(`${this.cursorPath}.tmp`, { force: true });
    const cursor = await this.readCursor();
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
      await this.writeCursor(seq, typeof hash === "string" ? hash : "");
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
