import { PgProtocolError } from "./message-reader.ts";

export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
export const PROTOCOL_3_0 = 196608;

export type StartupPacket =
  | { readonly kind: "ssl" }
  | { readonly kind: "gssenc" }
  | { readonly kind: "cancel"; readonly processId: number; readonly secretKey: number }
  | { readonly kind: "startup"; readonly params: Readonly<Record<string, string>> };

/** Bytes needed for the next untyped startup-phase packet, or null when the length is not known yet. */
export function startupPacketLength(data: Buffer): number | null {
  return data.length < 4 ? null : data.readUInt32BE(0);
}

const MAX_STARTUP_BYTES = 10_000;

/** Parses one untyped startup-phase packet (SSLRequest, CancelRequest, StartupMessage). */
export function parseStartupPacket(packet: Buffer): StartupPacket {
  if (packet.length < 8 || packet.length > MAX_STARTUP_BYTES) {
    throw new PgProtocolError("invalid startup packet length");
  }
  const code = packet.readUInt32BE(4);
  if (code === SSL_REQUEST_CODE) return { kind: "ssl" };
  if (code === GSSENC_REQUEST_CODE) return { kind: "gssenc" };
  if (code === CANCEL_REQUEST_CODE) {
    if (packet.length !== 16) throw new PgProtocolError("invalid cancel request");
    return { kind: "cancel", processId: packet.readInt32BE(8), secretKey: packet.readInt32BE(12) };
  }
  if (code !== PROTOCOL_3_0)
    throw new PgProtocolError(`unsupported protocol version ${code >> 16}.${code & 0xffff}`);
  const params: Record<string, string> = Object.create(null);
  let offset = 8;
  for (;;) {
    const keyEnd = packet.indexOf(0, offset);
    if (keyEnd < 0) throw new PgProtocolError("unterminated startup parameter");
    if (keyEnd === offset) break;
    const valueEnd = packet.indexOf(0, keyEnd + 1);
    if (valueEnd < 0) throw new PgProtocolError("unterminated startup parameter");
    params[packet.toString("utf8", offset, keyEnd)] = packet.toString("utf8", keyEnd + 1, valueEnd);
    offset = valueEnd + 1;
  }
  return { kind: "startup", params };
}
