/** One framed protocol message: the type byte, its body, and the raw bytes (header included). */
export interface PgMessage {
  readonly type: number;
  readonly body: Buffer;
  readonly raw: Buffer;
}

export class PgProtocolError extends Error {
  override readonly name = "PgProtocolError";
}

/**
 * Frames typed PostgreSQL messages (1-byte type, int32 length) from a byte stream. Pure: bytes
 * in, messages out. Bodies are views into the received chunks, not copies.
 */
export class MessageReader {
  private pending: Buffer | null = null;
  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes received but not yet framed (bounded by maxMessageBytes + 5). */
  get bufferedBytes(): number {
    return this.pending?.length ?? 0;
  }

  push(chunk: Buffer): PgMessage[] {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    const out: PgMessage[] = [];
    let offset = 0;
    while (data.length - offset >= 5) {
      const length = data.readUInt32BE(offset + 1);
      if (length < 4 || length > this.maxMessageBytes) {
        throw new PgProtocolError(`invalid message length ${length}`);
      }
      const end = offset + 1 + length;
      if (end > data.length) break;
      out.push({
        type: data[offset]!,
        body: data.subarray(offset + 5, end),
        raw: data.subarray(offset, end),
      });
      offset = end;
    }
    if (offset < data.length) this.pending = data.subarray(offset);
    return out;
  }
}
