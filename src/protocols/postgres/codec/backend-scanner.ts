import { PgProtocolError } from "./message-reader.ts";

/**
 * What the scanner's owner does with a message it asked to see: `undefined` passes the original
 * bytes on, a Buffer replaces the whole message (an empty Buffer drops it).
 */
export type MessageVerdict = Buffer | undefined;

export interface BackendScannerHooks {
  /** Whether the owner wants to see (and maybe replace) messages of this type right now. */
  wants(type: number): boolean;
  inspect(type: number, body: Buffer): MessageVerdict;
  /**
   * Optional fast path for a wanted message whose header starts at `start` of `chunk`: the owner
   * may replace it and the whole messages that follow it in this chunk at once (`consumed` bytes
   * of the chunk, `output` in their place). Undefined: handle the message with `inspect`.
   */
  rewriteRun?(type: number, chunk: Buffer, start: number): { consumed: number; output: Buffer } | undefined;
}

/**
 * Relays a server byte stream with the least work: framing only, passing untouched ranges of each
 * chunk through as views, and handing whole messages to the owner only for the types it asks for.
 * Pure: bytes in, byte pieces out.
 */
export class BackendScanner {
  private readonly header = Buffer.alloc(5);
  private headerLength = 0;
  private bodyRemaining = 0;
  private capture: Buffer[] | null = null;
  private captureType = 0;

  constructor(
    private readonly hooks: BackendScannerHooks,
    private readonly maxMessageBytes: number,
  ) {}

  /** Whether the bytes passed on so far end on a message boundary (a message may be injected). */
  get atBoundary(): boolean {
    return this.bodyRemaining === 0 && this.headerLength === 0 && this.capture === null;
  }

  scan(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let rangeStart = 0;
    let i = 0;
    const flushRange = (end: number): void => {
      if (end > rangeStart) out.push(chunk.subarray(rangeStart, end));
    };
    while (i < chunk.length) {
      if (this.bodyRemaining > 0) {
        const n = Math.min(this.bodyRemaining, chunk.length - i);
        i += n;
        this.bodyRemaining -= n;
        if (this.capture) {
          // Captured bytes are never part of a pass-through range.
          this.capture.push(chunk.subarray(i - n, i));
          rangeStart = i;
          if (this.bodyRemaining === 0) this.finishCapture(out);
        }
        continue;
      }
      // A whole header inside this chunk: the common, copy-free case.
      if (this.headerLength === 0 && chunk.length - i >= 5) {
        const type = chunk[i]!;
        const bodyLength = this.bodyLength(chunk.readUInt32BE(i + 1));
        if (!this.hooks.wants(type)) {
          i += 5;
          this.bodyRemaining = bodyLength;
          continue;
        }
        const end = i + 5 + bodyLength;
        const run = end <= chunk.length ? this.hooks.rewriteRun?.(type, chunk, i) : undefined;
        if (run !== undefined) {
          flushRange(i);
          if (run.output.length > 0) out.push(run.output);
          i += run.consumed;
          rangeStart = i;
          continue;
        }
        if (end <= chunk.length) {
          const verdict = this.hooks.inspect(type, chunk.subarray(i + 5, end));
          if (verdict !== undefined) {
            flushRange(i);
            if (verdict.length > 0) out.push(verdict);
            rangeStart = end;
          }
          i = end;
          continue;
        }
        flushRange(i);
        this.startCapture(out, type, chunk.subarray(i, i + 5), bodyLength);
        i += 5;
        rangeStart = i;
        continue;
      }
      // A header split across chunks: hold its bytes back until we know what it starts.
      if (this.headerLength === 0) flushRange(i);
      const n = Math.min(5 - this.headerLength, chunk.length - i);
      chunk.copy(this.header, this.headerLength, i, i + n);
      this.headerLength += n;
      i += n;
      rangeStart = i;
      if (this.headerLength < 5) continue;
      this.headerLength = 0;
      const type = this.header[0]!;
      const bodyLength = this.bodyLength(this.header.readUInt32BE(1));
      const headerCopy = Buffer.from(this.header);
      if (this.hooks.wants(type)) {
        this.startCapture(out, type, headerCopy, bodyLength);
      } else {
        out.push(headerCopy);
        this.bodyRemaining = bodyLength;
      }
    }
    flushRange(chunk.length);
    return out;
  }

  private bodyLength(length: number): number {
    if (length < 4 || length > this.maxMessageBytes)
      throw new PgProtocolError(`invalid server message length ${length}`);
    return length - 4;
  }

  private startCapture(out: Buffer[], type: number, header: Buffer, bodyLength: number): void {
    this.capture = [header];
    this.captureType = type;
    this.bodyRemaining = bodyLength;
    if (bodyLength === 0) this.finishCapture(out);
  }

  private finishCapture(out: Buffer[]): void {
    const parts = this.capture!;
    this.capture = null;
    const raw = Buffer.concat(parts);
    const verdict = this.hooks.inspect(this.captureType, raw.subarray(5));
    if (verdict === undefined) out.push(raw);
    else if (verdict.length > 0) out.push(verdict);
  }
}
