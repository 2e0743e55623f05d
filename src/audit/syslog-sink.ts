import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { hostname as osHostname } from "node:os";
import { connect as tlsConnect } from "node:tls";
import type { ChainedAuditRecord, Store } from "../store/index.ts";
import { CursorSink, describe, type RetryBackoff } from "./cursor-sink.ts";
import { formatSyslogMessage, frameOctetCounted, type SyslogHeader } from "./syslog-message.ts";

export type SyslogTransport = "tcp" | "tls" | "udp";

export interface SyslogSinkOptions {
  readonly store: Store;
  readonly transport: SyslogTransport;
  readonly host: string;
  readonly port: number;
  /** Facility code, 0..23 (local0 is 16). */
  readonly facility: number;
  /** HOSTNAME of the messages. Default: this machine's host name. */
  readonly hostname?: string;
  /** For `tls`: trusted CA certificates (PEM) instead of the system's. */
  readonly ca?: string | Buffer;
  /** For `tls`: a PEM file of trusted CA certificates, read at start (instead of `ca`). */
  readonly caFile?: string;
  /** Where the last sent seq is kept. */
  readonly cursorPath: string;
  /** Bound on connecting, and on a write that the receiver does not take. Default 10 s. */
  readonly timeoutMs?: number;
  /**
   * TCP and TLS: when the receiver closes or breaks the connection, events written on it within
   * this long before are sent again (they may have been in buffers it never read). Default 10 s.
   */
  readonly resendWindowMs?: number;
  readonly pollMs?: number;
  readonly batchSize?: number;
  readonly retry?: RetryBackoff;
  readonly log: (message: string) => void;
}

/** Bytes of frames per write on a stream (at least one event). */
const MAX_WRITE_BYTES = 1024 * 1024;
/** The largest UDP payload over IPv4. */
const MAX_DATAGRAM_BYTES = 65_507;

interface Sent {
  readonly fromSeq: number;
  readonly prevHash: string;
  readonly at: number;
}

/** A TCP or TLS connection and what was written on it lately. */
interface Stream {
  readonly socket: Socket;
  sent: Sent[];
}

/**
 * A live syslog sink: one RFC 5424 message per event, over TCP or TLS with octet-counting framing
 * (RFC 6587, RFC 5425) or over UDP (RFC 5426).
 *
 * TCP and TLS: the cursor moves once the operating system took a batch; a connection that fails
 * is reconnected with backoff, and events stay in the store (and are sent from the cursor) while
 * the receiver is down. A connection that the receiver closes or breaks moves the cursor back over
 * what was written on it in the last `resendWindowMs`, so that events it may not have read are
 * sent again: at least once, with duplicates possible. UDP is best effort: a datagram that is
 * sent counts as delivered.
 */
export class SyslogSink extends CursorSink {
  readonly name: string;
  private readonly header: SyslogHeader;
  private stream: Stream | undefined;
  private udp: UdpSocket | undefined;
  private closing = false;
  private ca: string | Buffer | undefined;

  constructor(private readonly options: SyslogSinkOptions) {
    super({ ...options, retry: options.retry ?? { initialMs: 500, maxMs: 30_000 } });
    const host = isIP(options.host) === 6 ? `[${options.host}]` : options.host;
    this.name = `syslog ${options.transport}://${host}:${options.port}`;
    this.header = {
      facility: options.facility,
      hostname: options.hostname ?? osHostname(),
      procId: String(process.pid),
    };
  }

  override async start(): Promise<void> {
    this.ca = this.options.caFile === undefined ? this.options.ca : await readFile(this.options.caFile);
    await super.start();
  }

  protected override deliver(rows: readonly ChainedAuditRecord[]): Promise<number> {
    return this.options.transport === "udp" ? this.sendDatagrams(rows) : this.writeFrames(rows);
  }

  protected override async shutdown(): Promise<void> {
    this.closing = true;
    const socket = this.stream?.socket;
    this.stream = undefined;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => socket.destroy(), this.timeoutMs).unref();
        socket.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.end();
      });
    }
    this.udp?.close();
    this.udp = undefined;
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 10_000;
  }

  private async writeFrames(rows: readonly ChainedAuditRecord[]): Promise<number> {
    const frames: Buffer[] = [];
    let bytes = 0;
    for (const row of rows) {
      const frame = frameOctetCounted(formatSyslogMessage(row, this.header));
      if (frames.length > 0 && bytes + frame.length > MAX_WRITE_BYTES) break;
      frames.push(frame);
      bytes += frame.length;
    }
    const stream = await this.connection();
    const socket = stream.socket;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy(new Error(`the receiver took no data for ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      socket.write(Buffer.concat(frames), (error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      });
    });
    const first = rows[0];
    if (first) stream.sent.push({ fromSeq: first.seq, prevHash: first.prevHash, at: Date.now() });
    this.forgetOldWrites(stream);
    return frames.length;
  }

  private forgetOldWrites(stream: Stream): void {
    const horizon = Date.now() - (this.options.resendWindowMs ?? 10_000);
    while (stream.sent.length > 0 && stream.sent[0]!.at < horizon) stream.sent.shift();
  }

  /** The open connection, or a new one. */
  private async connection(): Promise<Stream> {
    const current = this.stream;
    if (current && !current.socket.destroyed && current.socket.writable) return current;
    // Closing it sends again what was written on it lately (see connectionLost).
    current?.socket.destroy();
    this.stream = undefined;
    const { host, port, transport } = this.options;
    const socket =
      transport === "tls"
        ? tlsConnect({
            host,
            port,
            ...(isIP(host) === 0 ? { servername: host } : {}),
            ...(this.ca === undefined ? {} : { ca: this.ca }),
          })
        : netConnect({ host, port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy(new Error(`no connection within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      socket.once(transport === "tls" ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        socket.off("error", fail);
        resolve();
      });
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once("error", fail);
    });
    socket.setKeepAlive(true, 30_000);
    socket.unref();
    // Receivers send nothing; reading lets a close from their side be noticed at once.
    socket.on("data", () => {});
    socket.on("error", (error) => {
      if (!this.closing) this.options.log(`audit sink ${this.name}: connection failed: ${describe(error)}`);
    });
    const stream: Stream = { socket, sent: [] };
    socket.on("close", () => this.connectionLost(stream));
    this.stream = stream;
    return stream;
  }

  /** The receiver closed or broke the connection: send again what it may not have read. */
  private connectionLost(stream: Stream): void {
    if (this.stream === stream) this.stream = undefined;
    if (this.closing) return;
    this.forgetOldWrites(stream);
    const oldest = stream.sent[0];
    stream.sent = [];
    if (oldest === undefined) return;
    this.options.log(`audit sink ${this.name}: connection lost; sending again from seq ${oldest.fromSeq}`);
    this.rewind(oldest.fromSeq - 1, oldest.prevHash);
  }

  private async sendDatagrams(rows: readonly ChainedAuditRecord[]): Promise<number> {
    if (!this.udp) {
      const udp = createSocket(isIP(this.options.host) === 6 ? "udp6" : "udp4");
      udp.on("error", (error) => this.options.log(`audit sink ${this.name}: ${describe(error)}`));
      udp.unref();
      this.udp = udp;
    }
    const udp = this.udp;
    let count = 0;
    for (const row of rows) {
      const message = Buffer.from(formatSyslogMessage(row, this.header), "utf8");
      if (message.length > MAX_DATAGRAM_BYTES) {
        this.options.log(
          `audit sink ${this.name}: seq ${row.seq} is too large for a datagram (${message.length} bytes); not sent`,
        );
      } else {
        try {
          await new Promise<void>((resolve, reject) => {
            udp.send(message, this.options.port, this.options.host, (error) =>
              error ? reject(error) : resolve(),
            );
          });
        } catch (error) {
          if (count > 0) return count;
          throw error;
        }
      }
      count++;
    }
    return count;
  }
}
