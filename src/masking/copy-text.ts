/**
 * PostgreSQL COPY text format, one line at a time: fields separated by the delimiter (default
 * tab), `\N` for NULL (compared with the raw field, before escapes are read), and backslash
 * escapes: `\b \f \n \r \t \v`, `\\`, `\` + delimiter, `\` + 1-3 octal digits, `\x` + 1-2 hex
 * digits (bytes, read as UTF-8), and `\` + any other character for that character.
 */

export interface CopyTextFormat {
  /** One character; default tab. */
  readonly delimiter?: string;
  /** The NULL marker as it appears raw; default `\N`. */
  readonly null?: string;
}

/** One field: its raw text (as on the wire) and its value (null for the NULL marker). */
export interface CopyField {
  readonly raw: string;
  readonly value: string | null;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "7";
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

/** Reads the escapes of one raw field. */
export function unescapeCopyText(raw: string): string {
  if (!raw.includes("\\")) return raw;
  // Octal and hex escapes are bytes; collect bytes so multi-byte UTF-8 sequences decode whole.
  const bytes: number[] = [];
  const pushText = (text: string): void => {
    for (const byte of Buffer.from(text, "utf8")) bytes.push(byte);
  };
  let i = 0;
  while (i < raw.length) {
    const backslash = raw.indexOf("\\", i);
    if (backslash === -1) {
      pushText(raw.slice(i));
      break;
    }
    pushText(raw.slice(i, backslash));
    const c = raw[backslash + 1];
    if (c === undefined) {
      // A trailing lone backslash: PostgreSQL drops it too.
      i = backslash + 1;
    } else if (isOctal(c)) {
      let k = backslash + 1;
      let value = 0;
      while (k < backslash + 4 && isOctal(raw[k])) value = value * 8 + Number(raw[k++]);
      bytes.push(value & 0xff);
      i = k;
    } else if (c === "x" && isHex(raw[backslash + 2])) {
      let k = backslash + 2;
      let value = 0;
      while (k < backslash + 4 && isHex(raw[k])) value = value * 16 + Number.parseInt(raw[k++]!, 16);
      bytes.push(value);
      i = k;
    } else {
      pushText(SIMPLE_ESCAPES[c] ?? c);
      i = backslash + 2;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Escapes a value the way PostgreSQL's COPY TO writes it. */
export function escapeCopyText(value: string, delimiter = "\t"): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    let escaped: string | undefined;
    if (c === "\\") escaped = "\\\\";
    else if (c === "\n") escaped = "\\n";
    else if (c === "\r") escaped = "\\r";
    else if (c === "\t") escaped = "\\t";
    else if (c === "\b") escaped = "\\b";
    else if (c === "\f") escaped = "\\f";
    else if (c === "\v") escaped = "\\v";
    else if (c === delimiter) escaped = `\\${c}`;
    if (escaped === undefined) continue;
    out += value.slice(start, i) + escaped;
    start = i + 1;
  }
  return start === 0 ? value : out + value.slice(start);
}

/** Splits one line (without its line ending) into fields. */
export function parseCopyTextLine(line: string, format: CopyTextFormat = {}): CopyField[] {
  const delimiter = format.delimiter ?? "\t";
  const nullMarker = format.null ?? "\\N";
  const fields: CopyField[] = [];
  let start = 0;
  for (let i = 0; i <= line.length; i++) {
    if (i < line.length) {
      const c = line[i];
      if (c === "\\") {
        if (i + 1 < line.length) i++; // the escaped character never delimits
        continue;
      }
      if (c !== delimiter) continue;
    }
    const raw = line.slice(start, i);
    fields.push({ raw, value: raw === nullMarker ? null : unescapeCopyText(raw) });
    start = i + 1;
  }
  return fields;
}

/** Writes fields back: raw text where given, else the escaped value (`\N` for null). */
export function formatCopyTextLine(fields: readonly (string | null)[], format: CopyTextFormat = {}): string {
  const delimiter = format.delimiter ?? "\t";
  const nullMarker = format.null ?? "\\N";
  return fields.map((v) => (v === null ? nullMarker : escapeCopyText(v, delimiter))).join(delimiter);
}
