import { type Chunk, type ParsedLine, parseLine, type Seal } from "./chunk.ts";

/** One complete line of a recording file, read. */
export type RecordingEntry = ParsedLine & { readonly line: number };

/** A recording file split into complete lines; a last line without its LF is a torn tail. */
export interface RecordingContents {
  readonly entries: readonly RecordingEntry[];
  /** The bytes after the last LF: a line the writer did not finish (the gateway stopped mid-write). */
  readonly tornTail: { readonly line: number; readonly bytes: number } | null;
}

const LF = 0x0a;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Incremental reader: feed it the file's bytes as they grow and it yields each complete line
 * once. Only complete lines (ending in LF) are parsed; an LF never occurs inside a multi-byte
 * UTF-8 character, so splitting at LF bytes never splits a character.
 */
export class RecordingReader {
  private pending: Buffer = Buffer.alloc(0);
  private lineNumber = 0;
  /** Bytes consumed so far (complete lines only). */
  consumed = 0;

  push(bytes: Buffer): RecordingEntry[] {
    const data = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    const entries: RecordingEntry[] = [];
    let start = 0;
    for (let end = data.indexOf(LF, start); end !== -1; end = data.indexOf(LF, start)) {
      this.lineNumber++;
      entries.push({ ...decodeLine(data.subarray(start, end)), line: this.lineNumber });
      this.consumed += end + 1 - start;
      start = end + 1;
    }
    this.pending = Buffer.from(data.subarray(start));
    return entries;
  }

  /** The unfinished last line, if any. */
  tail(): { line: number; bytes: number } | null {
    return this.pending.length === 0 ? null : { line: this.lineNumber + 1, bytes: this.pending.length };
  }
}

function decodeLine(bytes: Buffer): ParsedLine {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { kind: "malformed", reason: "not UTF-8" };
  }
  return parseLine(text);
}

export function readRecording(bytes: Buffer): RecordingContents {
  const reader = new RecordingReader();
  const entries = reader.push(bytes);
  return { entries, tornTail: reader.tail() };
}

export function chunksOf(contents: RecordingContents): Chunk[] {
  return contents.entries.flatMap((e) => (e.kind === "chunk" ? [e.chunk] : []));
}

export function sealOf(contents: RecordingContents): Seal | undefined {
  for (const e of contents.entries) if (e.kind === "seal") return e.seal;
  return undefined;
}
