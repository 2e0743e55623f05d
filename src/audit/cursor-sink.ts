import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import type { ChainedAuditRecord, Store } from "../store/index.ts";

/** A live copy of the audit trail somewhere else, fed from the store by seq. */
export interface AuditSink {
  /** For log lines: the sink's type and target, never a secret. */
  readonly name: string;
  /** The last seq known to be delivered. */
  readonly exportedThrough: number;
  /** Reads the cursor, then delivers in the background until closed. */
  start(): Promise<void>;
  /** Delivers everything in the store now (after any delivery in progress); throws when it cannot. */
  drain(): Promise<void>;
  /** Stops the background delivery after a final drain attempt, and lets go of connections. */
  close(): Promise<void>;
}

/** Exponential backoff between failed deliveries. */
export interface RetryBackoff {
  /** Delay after the first failure. */
  readonly initialMs: number;
  /** The delay doubles per failure up to this. */
  readonly maxMs: number;
}

export interface CursorSinkOptions {
  readonly store: Store;
  /** Where the last delivered seq is kept. */
  readonly cursorPath: string;
  /** How often the store is looked at when the sink has caught up. Default 250 ms. */
  readonly pollMs?: number;
  /** Events read from the store per delivery. Default 1000. */
  readonly batchSize?: number;
  /** Backoff after failures. Default: from `pollMs`, doubling up to 30 s. */
  readonly retry?: RetryBackoff;
  readonly log: (message: string) => void;
}

/**
 * The part every audit sink shares: the cursor (the last delivered seq, replaced atomically in a
 * file after each delivery), tailing the store from the cursor, retries with exponential backoff,
 * and draining on close. Subclasses only deliver rows.
 *
 * Delivery is at least once: the cursor moves only after `deliver` resolved, so anything not
 * confirmed is delivered again, after a failure, a restart or a crash.
 */
export abstract class CursorSink implements AuditSink {
  abstract readonly name: string;
  readonly cursorPath: string;
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> = Promise.resolve();
  private stopped = false;
  private failures = 0;

  constructor(protected readonly base: CursorSinkOptions) {
    this.cursorPath = base.cursorPath;
  }

  /**
   * Delivers a prefix of `rows` (at least one row) in order and returns how many rows it
   * delivered; throws when it delivered none. Only then does the cursor move.
   */
  protected abstract deliver(rows: readonly ChainedAuditRecord[]): Promise<number>;

  /** Called once at start with the stored cursor; returns the cursor to continue from. */
  protected async resume(storedCursor: number): Promise<number> {
    return storedCursor;
  }

  /** What an unreadable cursor file message suggests. */
  protected cursorHint(): string {
    return "remove it to deliver again from the oldest event in the store";
  }

  /** Releases connections; called once by `close`. */
  protected async shutdown(): Promise<void> {}

  get exportedThrough(): number {
    return this.cursor;
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.cursorPath), { recursive: true, mode: 0o700 });
    await rm(`${this.cursorPath}.tmp`, { force: true });
    this.cursor = await this.resume(await this.readCursor());
    this.schedule(0);
  }

  async drain(): Promise<void> {
    await this.enqueue(async () => {
      while (await this.deliverBatch()) {
        // until caught up
      }
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      await this.drain();
    } finally {
      await this.enqueue(() => this.shutdown());
    }
  }

  /** Persists a new cursor (also backwards: events after it are delivered again). */
  protected async moveCursor(seq: number, hash: string): Promise<void> {
    await writeCursorFile(this.cursorPath, seq, hash);
    this.cursor = seq;
  }

  /**
   * Moves the cursor back so that every event after `seq` is delivered again (a subclass that
   * learns that delivered events may not have arrived). Runs between deliveries.
   */
  protected rewind(seq: number, hash: string): void {
    void this.enqueue(async () => {
      if (seq < this.cursor) await this.moveCursor(seq, hash);
    }).catch((error: unknown) => this.base.log(`audit sink ${this.name}: cannot rewind: ${String(error)}`));
  }

  /** Runs `work` after everything queued before it; the queue survives a failure. */
  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.pumping.then(work);
    this.pumping = next.catch(() => {});
    return next;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.enqueue(() => this.tick());
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const pollMs = this.base.pollMs ?? 250;
    let delay = pollMs;
    try {
      if (await this.deliverBatch()) delay = 0;
      if (this.failures > 0) this.base.log(`audit sink ${this.name}: delivering again`);
      this.failures = 0;
    } catch (error) {
      if (this.failures === 0)
        this.base.log(`audit sink ${this.name}: cannot deliver, will retry: ${describe(error)}`);
      this.failures++;
      const retry = this.base.retry ?? { initialMs: pollMs, maxMs: 30_000 };
      const backoff = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(this.failures - 1, 30));
      // Up to 20% jitter, so that gateways that lost one receiver do not all retry in step.
      delay = Math.round(backoff * (1 - Math.random() * 0.2));
    }
    this.schedule(delay);
  }

  /** Delivers the next batch after the cursor; returns whether there was one. */
  private async deliverBatch(): Promise<boolean> {
    const rows = await this.base.store.readAuditChain({
      afterSeq: this.cursor,
      limit: this.base.batchSize ?? 1000,
    });
    const first = rows[0];
    if (first === undefined) return false;
    if (this.cursor > 0 && first.seq !== this.cursor + 1) {
      this.base.log(
        `audit sink ${this.name}: seq ${this.cursor + 1}..${first.seq - 1} left the store (retention) before they were exported`,
      );
    }
    const count = await this.deliver(rows);
    const last = rows[Math.min(count, rows.length) - 1];
    if (last === undefined) throw new Error("the sink delivered nothing");
    await this.moveCursor(last.seq, last.hash);
    return true;
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
        `audit sink cursor ${this.cursorPath} is unreadable; ${this.cursorHint()}`,
      );
    }
    return seq;
  }
}

/** Replaces the cursor file atomically: a temporary file, synced, renamed over it. */
async function writeCursorFile(path: string, seq: number, hash: string): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, "w", 0o600);
  try {
    await file.write(`${JSON.stringify({ seq, hash })}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}

/** An error for a log line: its message and, for system errors, the code. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${code && !error.message.includes(code) ? ` (${code})` : ""}${cause}`;
  }
  return String(error);
}
