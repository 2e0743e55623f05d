import { PgProtocolError } from "./message-reader.ts";

/** Frontend (client to server) message type bytes. */
export const Frontend = {
  bind: 0x42, // B
  close: 0x43, // C
  describe: 0x44, // D
  execute: 0x45, // E
  functionCall: 0x46, // F
  flush: 0x48, // H
  parse: 0x50, // P
  query: 0x51, // Q
  sync: 0x53, // S
  terminate: 0x58, // X
  copyData: 0x64, // d
  copyDone: 0x63, // c
  copyFail: 0x66, // f
  password: 0x70, // p (also SASL responses)
} as const;

function cstring(body: Buffer, offset: number): [string, number] {
  const end = body.indexOf(0, offset);
  if (end < 0) throw new PgProtocolError("unterminated string in message");
  return [body.toString("utf8", offset, end), end + 1];
}

export function parseQuery(body: Buffer): string {
  return cstring(body, 0)[0];
}

export function parseParse(body: Buffer): { name: string; text: string } {
  const [name, next] = cstring(body, 0);
  const [text] = cstring(body, next);
  return { name, text };
}

export function parseBind(body: Buffer): { portal: string; statement: string } {
  const [portal, next] = cstring(body, 0);
  const [statement] = cstring(body, next);
  return { portal, statement };
}

export function parseExecute(body: Buffer): { portal: string } {
  return { portal: cstring(body, 0)[0] };
}

/** Close and Describe share a shape: 'S' (statement) or 'P' (portal) plus a name. */
export function parseTarget(body: Buffer): { target: "statement" | "portal"; name: string } {
  const which = body[0];
  if (which !== 0x53 && which !== 0x50) throw new PgProtocolError("invalid close/describe target");
  return { target: which === 0x53 ? "statement" : "portal", name: cstring(body, 1)[0] };
}

export function parsePassword(body: Buffer): string {
  return cstring(body, 0)[0];
}
