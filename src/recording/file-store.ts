import { constants } from "node:fs";
import { type FileHandle, mkdir, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import { isValidSessionId, type RecordingStore } from "./store.ts";

export interface FileRecordingStoreOptions {
  /** Directory of the recordings (created with mode 0700 when missing). */
  readonly dir: string;
  /**
   * `true` (default): every append is followed by fdatasync, and a new file by an fsync of the
   * directory, so an append that resolved survives a power loss. `false`: left to the OS
   * (tests, throwaway environments).
   */
  readonly fsync?: boolean;
}

const SUFFIX = ".jsonl";

/**
 * One append-only JSON-lines file per session, `<dir>/<session-id>.jsonl` (mode 0600, opened with
 * O_APPEND). Each append is one write of whole lines; a crash can leave only the last line torn,
 * which verification reports as such.
 */
export class FileRecordingStore implements RecordingStore {
  readonly location: string;
  private readonly fsync: boolean;
  private readonly handles = new Map<string, FileHandle>();
  private dirReady: Promise<void> | undefined;

  constructor(options: FileRecordingStoreOptions) {
    this.location = options.dir;
    this.fsync = options.fsync ?? true;
  }

  pathOf(sessionId: string): string {
    if (!isValidSessionId(sessionId)) {
      throw new SluiceError(
        ErrorCodes.recordingUnavailable,
        `not a valid recording id: ${JSON.stringify(sessionId)}`,
      );
    }
    return join(this.location, `${sessionId}${SUFFIX}`);
  }

  async create(sessionId: string): Promise<void> {
    const path = this.pathOf(sessionId);
    if (this.handles.has(sessionId))
      throw new SluiceError(ErrorCodes.recordingUnavailable, `${path}: already open`);
    this.dirReady ??= mkdir(this.location, { recursive: true, mode: 0o700 }).then(() => undefined);
    await this.dirReady;
    const handle = await open(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND,
      0o600,
    );
    this.handles.set(sessionId, handle);
    if (this.fsync) await syncDirectory(this.location);
  }

  async append(sessionId: string, text: string): Promise<void> {
    const handle = this.handles.get(sessionId);
    if (handle === undefined) {
      throw new SluiceError(
        ErrorCodes.recordingUnavailable,
        `${this.pathOf(sessionId)}: not open for writing`,
      );
    }
    const bytes = Buffer.from(text, "utf8");
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
    if (this.fsync) await handle.datasync();
  }

  async close(sessionId: string): Promise<void> {
    const handle = this.handles.get(sessionId);
    this.handles.delete(sessionId);
    await handle?.close();
  }

  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.location);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    return names
      .filter((name) => name.endsWith(SUFFIX))
      .map((name) => name.slice(0, -SUFFIX.length))
      .filter(isValidSessionId);
  }

  async read(sessionId: string, fromByte = 0): Promise<Buffer> {
    const handle = await open(this.pathOf(sessionId), "r");
    try {
      const { size } = await handle.stat();
      if (size <= fromByte) return Buffer.alloc(0);
      const buffer = Buffer.alloc(size - fromByte);
      let offset = 0;
      while (offset < buffer.length) {
        const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, fromByte + offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
      }
      return buffer.subarray(0, offset);
    } finally {
      await handle.close();
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Some file systems cannot fsync a directory; the file's own data is still synced.
  } finally {
    await handle?.close();
  }
}
