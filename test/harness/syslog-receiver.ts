import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";

/**
 * Splits RFC 6587 octet-counted frames (`MSG-LEN SP SYSLOG-MSG`) off the front of `buffer`.
 * Throws on anything that is not a frame: a receiver that parsed it would be confused.
 */
export function takeFrames(buffer: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = [];
  let offset = 0;
  for (;;) {
    const space = buffer.indexOf(0x20, offset);
    if (space < 0) {
      if (buffer.length - offset > 10) throw new Error("no MSG-LEN in 10 bytes");
      break;
    }
    const length = buffer.subarray(offset, space).toString("latin1");
    if (!/^[1-9]\d{0,9}$/.test(length)) throw new Error(`bad MSG-LEN ${JSON.stringify(length)}`);
    const end = space + 1 + Number(length);
    if (end > buffer.length) break;
    messages.push(buffer.subarray(space + 1, end).toString("utf8"));
    offset = end;
  }
  return { messages, rest: buffer.subarray(offset) };
}

export interface SyslogReceiver {
  readonly port: number;
  /** Every message received, in order of arrival. */
  readonly messages: string[];
  /** Framing errors seen (a well-behaved sender causes none). */
  readonly errors: string[];
  /** Connections accepted so far. */
  connections: number;
  waitFor(condition: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A TCP (or, with `tls`, TLS) syslog receiver on loopback that parses octet-counted frames. */
export async function startSyslogReceiver(
  options: {
    port?: number;
    tls?: { cert: string; key: string };
    /**
     * Called per connection; return false to never read from it (a receiver that hangs or dies
     * with data unread; the callback may destroy the socket later).
     */
    accept?: (socket: Socket) => boolean;
  } = {},
): Promise<SyslogReceiver> {
  const sockets = new Set<Socket>();
  const receiver: SyslogReceiver = {
    port: 0,
    messages: [],
    errors: [],
    connections: 0,
    async waitFor(condition, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const onConnection = (socket: Socket) => {
    receiver.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    if (options.accept && !options.accept(socket)) return;
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      try {
        const { messages, rest } = takeFrames(Buffer.concat([pending, chunk]));
        receiver.messages.push(...messages);
        pending = rest;
      } catch (error) {
        receiver.errors.push(String(error));
        socket.destroy();
      }
    });
  };
  const server: Server = options.tls
    ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onConnection)
    : createTcpServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  (receiver as { port: number }).port = typeof address === "object" && address ? address.port : 0;
  return receiver;
}
