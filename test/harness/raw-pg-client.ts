import { connect } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { serialize } from "pg-protocol";
import { MessageReader, type PgMessage } from "../../src/protocols/postgres/codec/message-reader.ts";

/**
 * A minimal PostgreSQL client that sends exactly the bytes a test asks for (pipelines, odd
 * orders, malformed messages) and collects every server message, for protocol-level tests.
 */
export class RawPgClient {
  private readonly reader = new MessageReader(1 << 30);
  private readonly received: PgMessage[] = [];
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(private readonly socket: TLSSocket) {
    socket.on("data", (chunk: Buffer) => {
      for (const m of this.reader.push(chunk))
        this.received.push({ ...m, raw: Buffer.from(m.raw), body: Buffer.from(m.body) });
      this.waiter?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static async connect(port: number, database: string, password: string): Promise<RawPgClient> {
    const raw = connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => raw.once("connect", resolve).once("error", reject));
    raw.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
    const answer = await new Promise<Buffer>((resolve) => raw.once("data", resolve));
    if (answer.toString() !== "S") throw new Error("gateway refused TLS");
    const socket = tlsConnect({ socket: raw, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
    const client = new RawPgClient(socket);
    socket.write(serialize.startup({ user: "raw", database }));
    await client.until((m) => m.type === 0x52);
    socket.write(serialize.password(password));
    await client.untilReady();
    client.received.length = 0;
    return client;
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  /** Waits for a message matching `predicate`; returns every message received up to and including it. */
  async until(predicate: (m: PgMessage) => boolean, timeoutMs = 15_000): Promise<PgMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex(predicate);
      if (index >= 0) return this.received.splice(0, index + 1);
      if (this.closed) throw new Error("connection closed while waiting");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a server message");
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, Math.min(left, 200));
      });
    }
  }

  untilReady(): Promise<PgMessage[]> {
    return this.until((m) => m.type === 0x5a);
  }

  end(): void {
    this.socket.end(serialize.end());
  }
}

/** Message type letters of a response, e.g. "1 2 C Z", for compact assertions. */
export function types(messages: readonly PgMessage[]): string {
  return messages.map((m) => String.fromCharCode(m.type)).join(" ");
}

/** The primary message of the first ErrorResponse, if any. */
export function errorText(messages: readonly PgMessage[]): string | undefined {
  const error = messages.find((m) => m.type === 0x45);
  if (!error) return undefined;
  const fields = error.body.toString("utf8").split("\0");
  return fields.find((f) => f.startsWith("M"))?.slice(1);
}
