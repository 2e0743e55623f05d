/** RowDescription and DataRow bodies, read and rewritten for masking. */

export interface FieldDescription {
  readonly name: string;
  readonly tableOid: number;
  readonly attnum: number;
  readonly typeOid: number;
  /** 0 text, 1 binary. */
  readonly format: number;
}

/** Types whose values are text on the wire in both formats (binary jsonb adds a version byte). */
export const TEXT_TYPES: ReadonlySet<number> = new Set([
  25, // text
  1043, // varchar
  1042, // bpchar
  19, // name
  18, // "char"
  114, // json
  3802, // jsonb
  142, // xml
  705, // unknown
]);
export const JSON_TYPES: ReadonlySet<number> = new Set([114, 3802]);
export const JSONB = 3802;

export function parseRowDescription(body: Buffer): FieldDescription[] {
  const count = body.readInt16BE(0);
  const fields: FieldDescription[] = [];
  let offset = 2;
  for (let i = 0; i < count; i++) {
    const end = body.indexOf(0, offset);
    if (end < 0 || end + 19 > body.length) throw new Error("malformed RowDescription");
    const name = body.toString("utf8", offset, end);
    offset = end + 1;
    fields.push({
      name,
      tableOid: body.readUInt32BE(offset),
      attnum: body.readInt16BE(offset + 4),
      typeOid: body.readUInt32BE(offset + 6),
      format: body.readInt16BE(offset + 16),
    });
    offset += 18;
  }
  return fields;
}

/** A whole CopyData message. */
export function copyDataMessage(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + data.length);
  out[0] = 0x64;
  out.writeInt32BE(4 + data.length, 1);
  data.copy(out, 5);
  return out;
}
