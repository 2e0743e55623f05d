import type { Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";
import { authenticationCleartextPassword, errorResponse } from "./codec/backend-messages.ts";
import { Frontend, parsePassword } from "./codec/frontend-messages.ts";
import { PgProtocolError } from "./codec/message-reader.ts";
import { parseStartupPacket, type StartupPacket, startupPacketLength } from "./codec/startup.ts";

export type HandshakeResult =
  | {
      readonly kind: "login";
      readonly socket: Socket;
      readonly params: Readonly<Record<string, string>>;
      readonly password: string;
      readonly tls: boolean;
    }
  | { readonly kind: "cancel"; readonly processId: number; readonly secretKey: number };

const MAX_PASSWORD_BYTES = 16 * 1024;

/** Reads bytes from a socket on demand, for the short, strictly ordered start-up exchange. */
class SocketBytes {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;
  constructor(private socket: Socket) {
    this.attach(socket);
  }
  private readonly onData = (chunk: Buffer): void => {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.waiter?.();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.waiter?.();
  };
  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onEnd);
  }
  detach(): Buffer {
    this.socket.off("data", this.onData);
    this.socket.off("end", this.onEnd);
    this.socket.off("close", this.onEnd);
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    return rest;
  }
  switchTo(socket: Socket): void {
    this.detach();
    this.attach(socket);
  }
  get pending(): number {
    return this.buffered.length;
  }
  async take(n: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      if (this.ended) throw new PgProtocolError("connection closed during start-up");
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
      this.waiter = null;
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }
}

async function readStartup(bytes: SocketBytes): Promise<StartupPacket> {
  const head = await bytes.take(4);
  const length = startupPacketLength(head) ?? 0;
  if (length < 8 || length > 10_000) throw new PgProtocolError("invalid startup packet length");
  return parseStartupPacket(Buffer.concat([head, await bytes.take(length - 4)]));
}

/**
 * The client side of start-up: optional TLS, the startup packet, and a cleartext password
 * exchange (allowed only inside TLS unless configured otherwise). Returns the socket to relay on.
 */
export async function clientHandshake(
  raw: Socket,
  options: { secureContext: SecureContext | null; requireTls: boolean },
): Promise<HandshakeResult> {
  let socket: Socket = raw;
  const bytes = new SocketBytes(raw);
  let tls = false;
  for (;;) {
    const packet = await readStartup(bytes);
    if (packet.kind === "cancel") return packet;
    if (packet.kind === "gssenc") {
      socket.write("N");
      continue;
    }
    if (packet.kind === "ssl") {
      if (tls || !options.secureContext) {
        socket.write("N");
        continue;
      }
      if (bytes.pending > 0) throw new PgProtocolError("data received before the TLS handshake");
      bytes.detach();
      raw.write("S");
      const secure = new TLSSocket(raw, { isServer: true, secureContext: options.secureContext });
      await new Promise<void>((resolve, reject) => {
        secure.once("secure", resolve);
        secure.once("error", reject);
      });
      secure.setNoDelay(true);
      socket = secure;
      bytes.switchTo(secure);
      tls = true;
      continue;
    }
    if (options.requireTls && !tls) {
      socket.end(
        errorResponse({
          severity: "FATAL",
          code: "28000",
          message: "sluice: TLS is required; connect with sslmode=require",
        }),
      );
      throw new PgProtocolError("client did not use TLS");
    }
    socket.write(authenticationCleartextPassword());
    const head = await bytes.take(5);
    if (head[0] !== Frontend.password) throw new PgProtocolError("expected a password message");
    const length = head.readUInt32BE(1);
    if (length < 5 || length > MAX_PASSWORD_BYTES)
      throw new PgProtocolError("invalid password message length");
    const password = parsePassword(await bytes.take(length - 4));
    // Nothing may arrive before AuthenticationOk; hold any early bytes in the socket until relayed.
    socket.pause();
    const rest = bytes.detach();
    if (rest.length > 0) throw new PgProtocolError("data received before authentication completed");
    return { kind: "login", socket, params: packet.params, password, tls };
  }
}
