/** Backend (server to client) message type bytes the gateway reads or writes. */
export const Backend = {
  authentication: 0x52, // R
  backendKeyData: 0x4b, // K
  parameterStatus: 0x53, // S
  readyForQuery: 0x5a, // Z
  errorResponse: 0x45, // E
  noticeResponse: 0x4e, // N
  commandComplete: 0x43, // C
} as const;

function message(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function int32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(value, 0);
  return b;
}

const nul = Buffer.from([0]);
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, "utf8"), nul]);

export const authenticationOk = (): Buffer => message(Backend.authentication, int32(0));
export const authenticationCleartextPassword = (): Buffer => message(Backend.authentication, int32(3));
export const parameterStatus = (name: string, value: string): Buffer =>
  message(Backend.parameterStatus, Buffer.concat([cstr(name), cstr(value)]));
export const backendKeyData = (processId: number, secretKey: number): Buffer =>
  message(Backend.backendKeyData, Buffer.concat([int32(processId), int32(secretKey)]));
export const readyForQuery = (status: "I" | "T" | "E"): Buffer =>
  message(Backend.readyForQuery, Buffer.from(status, "latin1"));

/** Fields of an ErrorResponse / NoticeResponse, keyed by their one-letter codes. */
export interface ErrorFields {
  readonly severity: "ERROR" | "FATAL" | "NOTICE" | "WARNING";
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

function fieldsBody(fields: ErrorFields): Buffer {
  const parts: Buffer[] = [];
  const add = (code: string, value: string | undefined): void => {
    if (value !== undefined) parts.push(Buffer.from(code, "latin1"), cstr(value));
  };
  add("S", fields.severity);
  add("V", fields.severity);
  add("C", fields.code);
  add("M", fields.message);
  add("D", fields.detail);
  add("H", fields.hint);
  parts.push(nul);
  return Buffer.concat(parts);
}

export const errorResponse = (fields: ErrorFields): Buffer =>
  message(Backend.errorResponse, fieldsBody(fields));
export const noticeResponse = (fields: ErrorFields): Buffer =>
  message(Backend.noticeResponse, fieldsBody(fields));

/** Reads the fields of an ErrorResponse or NoticeResponse body. */
export function parseErrorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const code = String.fromCharCode(body[offset]!);
    const end = body.indexOf(0, offset + 1);
    if (end < 0) break;
    fields.set(code, body.toString("utf8", offset + 1, end));
    offset = end + 1;
  }
  return fields;
}

/** Reads a ParameterStatus body. */
export function parseParameterStatus(body: Buffer): { name: string; value: string } {
  const nameEnd = body.indexOf(0);
  const valueEnd = body.indexOf(0, nameEnd + 1);
  return { name: body.toString("utf8", 0, nameEnd), value: body.toString("utf8", nameEnd + 1, valueEnd) };
}
