import { ErrorCodes, type SessionContext, SluiceError } from "../core/index.ts";
import { type SigningKey, signRecordingSeal } from "../identity/index.ts";
import { GENESIS_HASH, makeChunk, toLine } from "./chunk.ts";
import {
  type EndEvent,
  type RecordingEvent,
  type ResultEvent,
  type StoredEvent,
  startEvent,
  type TruncatedEvent,
} from "./events.ts";
import { isValidSessionId, type RecordingStore } from "./store.ts";

export interface SessionRecorderOptions {
  readonly store: RecordingStore;
  /** The gateway's key: it signs each recording's seal. */
  readonly signingKey: SigningKey;
  /** A recording stops growing here (a `truncated` marker, then only its end and seal). */
  readonly maxBytesPerSession: number;
  /** Rows of one result kept in the recording; the rest are counted and marked. */
  readonly maxRowsPerStatement: number;
  /** Per session: `record` returns false above this many bytes not yet written. Default 1 MiB. */
  readonly highWaterBytes?: number;
  /** Per session: above this many bytes not yet written the recording fails. Default 16 MiB. */
  readonly maxBufferedBytes?: number;
  /**
   * How long chunks wait to be written together (default 20 ms): one write per session per
   * interval rather than one per event. `drain`, `end` and `close` write at once. A killed gateway
   * loses at most this much of a recording.
   */
  readonly flushIntervalMs?: number;
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
  readonly log?: (message: string) => void;
  /** Called once per recording that failed (the store refused a write, or the buffer overflowed). */
  readonly onFailure?: (failure: RecordingFailure) => void;
}

export interface RecordingFailure {
  readonly sessionId: string;
  readonly error: SluiceError;
}

/** The recorder's health signal (docs/recording.md#failures). */
export interface RecorderHealth {
  /** False while the store's last write failed or a live recording has failed. */
  readonly ok: boolean;
  readonly liveSessions: number;
  /** Recordings that failed since the recorder started. */
  readonly failedRecordings: number;
  readonly lastError: string | null;
}

/** What `end` achieved. */
export interface SealResult {
  readonly sessionId: string;
  readonly sealed: boolean;
  readonly chunks: number;
  readonly lastHash: string;
  /** Why the recording is not sealed, when it is not. */
  readonly error?: string;
}

/** Reserved at the end of every recording for a size marker, the end chunk and the seal. */
/** Queued bytes that are written without waiting for the flush interval. */
const FLUSH_NOW_BYTES = 256 * 1024;
const END_RESERVE_BYTES = 4096;
/** End reasons are cut to this many characters, so the end chunk always fits the reserve. */
const MAX_REASON_CHARS = 512;
/** How many ended sessions are remembered so that late events for them are ignored. */
const ENDED_REMEMBERED = 4096;

interface Live {
  readonly id: string;
  readonly startMs: number;
  seq: number;
  lastHash: string;
  lastT: number;
  /** Bytes of every chunk line accepted so far. */
  bytes: number;
  pending: string[];
  pendingBytes: number;
  inFlightBytes: number;
  writing: boolean;
  /** A write is scheduled for the end of the flush interval. */
  timer: NodeJS.Timeout | undefined;
  created: boolean;
  truncated: boolean;
  droppedEvents: number;
  droppedBytes: number;
  ending: Promise<SealResult> | undefined;
  failed: SluiceError | undefined;
  waiters: { resolve: () => void; reject: (error: SluiceError) => void }[];
}

/**
 * Records sessions as hash-chained, sealed chunk sequences (docs/recording.md). The Gate owns one:
 * `begin` when a session opens, `record` for each event, `end` when it closes.
 *
 * `record` never waits for the disk: it chains the chunk in memory, queues its line and returns.
 * Lines are appended in the background, one write (and fdatasync) at a time per session, with
 * everything queued meanwhile coalesced into the next write. `record` returns false when a
 * session has more than `highWaterBytes` unwritten (wait for `drain` before producing more, like a
 * stream); beyond `maxBufferedBytes` the recording fails. A failed recording is reported through
 * `onFailure`, `failure(id)`, `drain` (rejects) and `health()`: the gateway fails closed on it.
 */
export class SessionRecorder {
  private readonly live = new Map<string, Live>();
  /** Recently ended sessions: late events for them are ignored rather than refused. */
  private readonly ended = new Set<string>();
  private readonly highWater: number;
  private readonly maxBuffered: number;
  private readonly flushIntervalMs: number;
  private readonly now: () => number;
  private readonly log: (message: string) => void;
  private failedRecordings = 0;
  private lastWriteFailed = false;
  private lastError: string | null = null;

  constructor(private readonly options: SessionRecorderOptions) {
    this.highWater = options.highWaterBytes ?? 1024 ** 2;
    this.maxBuffered = Math.max(options.maxBufferedBytes ?? 16 * 1024 ** 2, this.highWater);
    this.flushIntervalMs = options.flushIntervalMs ?? 20;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    if (options.maxBytesPerSession < 4 * END_RESERVE_BYTES) {
      throw new RangeError(`maxBytesPerSession must be at least ${4 * END_RESERVE_BYTES}`);
    }
  }

  /**
   * Starts the recording of a session (its file is created in the background). Throws a
   * SluiceError when the session is already recorded or its id cannot name a recording.
   */
  begin(session: SessionContext, options: { terminal?: { width: number; height: number } } = {}): void {
    if (!isValidSessionId(session.id)) {
      throw new SluiceError(
        ErrorCodes.recordingUnavailable,
        `not a valid recording id: ${JSON.stringify(session.id)}`,
      );
    }
    if (this.live.has(session.id)) {
      throw new SluiceError(
        ErrorCodes.recordingUnavailable,
        `session ${session.id} is already being recorded`,
      );
    }
    const startMs = this.now();
    const state: Live = {
      id: session.id,
      startMs,
      seq: 0,
      lastHash: GENESIS_HASH,
      lastT: 0,
      bytes: 0,
      pending: [],
      pendingBytes: 0,
      inFlightBytes: 0,
      writing: false,
      timer: undefined,
      created: false,
      truncated: false,
      droppedEvents: 0,
      droppedBytes: 0,
      ending: undefined,
      failed: undefined,
      waiters: [],
    };
    this.live.set(session.id, state);
    const limits = {
      max_bytes: this.options.maxBytesPerSession,
      max_rows_per_statement: this.options.maxRowsPerStatement,
    };
    this.append(state, startEvent(session, new Date(startMs), limits, options.terminal ?? null), true);
  }

  /**
   * Records one event of a live session. Returns false when the caller should wait for
   * `drain(sessionId)` before producing more (the buffer is above its high-water mark, or the
   * recording failed: see `failure`). Events of an ended session are ignored. Throws a SluiceError
   * for a session that was never begun.
   */
  record(sessionId: string, event: RecordingEvent): boolean {
    const state = this.live.get(sessionId);
    if (state === undefined) {
      if (this.ended.has(sessionId)) return true;
      throw new SluiceError(ErrorCodes.recordingUnavailable, `session ${sessionId} is not being recorded`);
    }
    if (state.ending !== undefined) return true;
    if (state.failed !== undefined) return false;
    if (event.type === "result") this.recordResult(state, event);
    else this.append(state, event, false);
    return state.failed === undefined && state.pendingBytes + state.inFlightBytes <= this.highWater;
  }

  /** Resolves when everything recorded so far is written; rejects when the recording failed. */
  drain(sessionId: string): Promise<void> {
    const state = this.live.get(sessionId);
    return state === undefined ? Promise.resolve() : this.drainState(state);
  }

  /**
   * Ends a recording: an end chunk with `reason`, then, once everything is written, the seal
   * signed with the gateway's key. Never rejects; the result says whether the recording is sealed.
   * Calling it again returns the same result.
   */
  end(sessionId: string, reason: string): Promise<SealResult> {
    const state = this.live.get(sessionId);
    if (state === undefined) {
      return Promise.resolve({
        sessionId,
        sealed: false,
        chunks: 0,
        lastHash: GENESIS_HASH,
        error: "not being recorded",
      });
    }
    state.ending ??= this.seal(state, reason);
    return state.ending;
  }

  /** Why a live recording failed, if it did. */
  failure(sessionId: string): SluiceError | undefined {
    return this.live.get(sessionId)?.failed;
  }

  health(): RecorderHealth {
    const liveFailed = [...this.live.values()].some((s) => s.failed !== undefined);
    return {
      ok: !this.lastWriteFailed && !liveFailed,
      liveSessions: this.live.size,
      failedRecordings: this.failedRecordings,
      lastError: this.lastError,
    };
  }

  /** Ends every live recording (when the gateway stops). */
  async close(reason = "gateway stopped"): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.end(id, reason)));
  }

  private recordResult(state: Live, event: ResultEvent): void {
    const cap = this.options.maxRowsPerStatement;
    let result = event;
    if (event.rows.length > cap) {
      result = {
        ...event,
        rows: event.rows.slice(0, cap),
        rows_omitted: event.rows_omitted + event.rows.length - cap,
      };
    }
    this.append(state, result, false);
    if (result.rows_omitted > 0) {
      const marker: TruncatedEvent = {
        type: "truncated",
        reason: "rows",
        limit: cap,
        kept: result.rows.length,
        omitted: result.rows_omitted,
      };
      this.append(state, marker, false);
    }
  }

  /** Chains one event and queues its line; `reserved` events may use the end reserve. */
  private append(state: Live, event: StoredEvent, reserved: boolean): void {
    const t = Math.max(state.lastT, this.now() - state.startMs);
    const chunk = makeChunk(state.id, state.seq + 1, t, event, state.lastHash);
    const line = toLine(chunk);
    const size = Buffer.byteLength(line);
    if (!reserved && state.bytes + size > this.options.maxBytesPerSession - END_RESERVE_BYTES) {
      if (!state.truncated) {
        state.truncated = true;
        this.append(
          state,
          { type: "truncated", reason: "size", limit: this.options.maxBytesPerSession },
          true,
        );
      }
      state.droppedEvents++;
      state.droppedBytes += size;
      return;
    }
    state.seq = chunk.seq;
    state.lastHash = chunk.hash;
    state.lastT = t;
    state.bytes += size;
    this.enqueue(state, line);
  }

  private enqueue(state: Live, line: string): void {
    state.pending.push(line);
    state.pendingBytes += Buffer.byteLength(line);
    if (state.pendingBytes + state.inFlightBytes > this.maxBuffered) {
      this.fail(
        state,
        new Error(`more than ${this.maxBuffered} bytes waiting: the recording store is not keeping up`),
      );
      return;
    }
    this.schedule(state);
  }

  /** Writes what is queued at the end of the flush interval (at once when a lot is queued). */
  private schedule(state: Live): void {
    if (state.writing || state.timer !== undefined) return;
    if (state.pendingBytes >= FLUSH_NOW_BYTES || this.flushIntervalMs <= 0) {
      state.writing = true;
      queueMicrotask(() => void this.pump(state));
      return;
    }
    state.timer = setTimeout(() => {
      state.timer = undefined;
      if (state.writing) return;
      state.writing = true;
      void this.pump(state);
    }, this.flushIntervalMs);
    state.timer.unref();
  }

  /** Writes what is queued now instead of at the end of the interval. */
  private flushNow(state: Live): void {
    if (state.timer === undefined || state.writing) return;
    clearTimeout(state.timer);
    state.timer = undefined;
    state.writing = true;
    void this.pump(state);
  }

  private async pump(state: Live): Promise<void> {
    try {
      if (!state.created) {
        await this.options.store.create(state.id);
        state.created = true;
      }
      // Someone waits (drain, end): write until nothing is queued. Otherwise one write, and what
      // arrived meanwhile waits for the next interval.
      do {
        if (state.pending.length === 0 || state.failed !== undefined) break;
        const text = state.pending.join("");
        state.inFlightBytes = state.pendingBytes;
        state.pending = [];
        state.pendingBytes = 0;
        await this.options.store.append(state.id, text);
        state.inFlightBytes = 0;
        this.lastWriteFailed = false;
      } while (state.waiters.length > 0);
    } catch (error) {
      this.lastWriteFailed = true;
      this.fail(state, error);
    } finally {
      state.writing = false;
      state.inFlightBytes = 0;
    }
    if (state.failed !== undefined) return;
    if (state.pending.length > 0) {
      this.schedule(state);
      return;
    }
    for (const waiter of state.waiters.splice(0)) waiter.resolve();
  }

  private fail(state: Live, cause: unknown): void {
    if (state.failed !== undefined) return;
    const detail = cause instanceof Error ? cause.message : String(cause);
    const error = new SluiceError(
      ErrorCodes.recordingUnavailable,
      `recording of session ${state.id} failed (${this.options.store.location}): ${detail}`,
      { cause },
    );
    state.failed = error;
    state.pending = [];
    state.pendingBytes = 0;
    this.failedRecordings++;
    this.lastError = error.message;
    this.log(error.message);
    for (const waiter of state.waiters.splice(0)) waiter.reject(error);
    try {
      this.options.onFailure?.({ sessionId: state.id, error });
    } catch {
      // A listener's own failure must not hide the recording's.
    }
  }

  private async seal(state: Live, reason: string): Promise<SealResult> {
    const result = (error?: string): SealResult => ({
      sessionId: state.id,
      sealed: error === undefined,
      chunks: state.seq,
      lastHash: state.lastHash,
      ...(error === undefined ? {} : { error }),
    });
    try {
      if (state.failed !== undefined) return result(state.failed.message);
      const end: EndEvent = {
        type: "end",
        reason: reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason,
        ended_at: new Date(this.now()).toISOString(),
        dropped_events: state.droppedEvents,
        dropped_bytes: state.droppedBytes,
      };
      this.append(state, end, true);
      await this.drainState(state);
      const jws = await signRecordingSeal(this.options.signingKey, {
        sessionId: state.id,
        chunks: state.seq,
        lastHash: state.lastHash,
      });
      const seal = {
        session_id: state.id,
        chunks: state.seq,
        last_hash: state.lastHash,
        sealed_at: new Date(this.now()).toISOString(),
        kid: this.options.signingKey.kid,
        jws,
      };
      this.enqueue(state, toLine({ seal }));
      await this.drainState(state);
      return result();
    } catch (error) {
      if (state.failed === undefined) this.fail(state, error);
      return result(state.failed?.message ?? String(error));
    } finally {
      this.live.delete(state.id);
      this.ended.add(state.id);
      if (this.ended.size > ENDED_REMEMBERED) {
        const [oldest] = this.ended;
        if (oldest !== undefined) this.ended.delete(oldest);
      }
      await this.options.store.close(state.id).catch(() => {});
    }
  }

  private drainState(state: Live): Promise<void> {
    if (state.failed !== undefined) return Promise.reject(state.failed);
    if (!state.writing && state.pending.length === 0) return Promise.resolve();
    this.flushNow(state);
    return new Promise((resolve, reject) => state.waiters.push({ resolve, reject }));
  }
}
