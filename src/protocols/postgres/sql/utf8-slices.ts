/**
 * Cuts statements out of the input text. The parser reports statement positions as byte
 * offsets into the UTF-8 encoding, so they are mapped back to string indices in one pass.
 */

export interface ByteRange {
  /** Byte offset of the statement's first token. */
  readonly start: number;
  /** Length in bytes; 0 means "up to the end of the text". */
  readonly length: number;
}

// Any character outside ASCII makes byte offsets differ from string indices.
const NON_ASCII = /[\u0080-\uffff]/;

export function sliceByUtf8Ranges(text: string, ranges: readonly ByteRange[]): string[] {
  const bounds: number[] = [];
  for (const r of ranges) {
    bounds.push(r.start, r.length > 0 ? r.start + r.length : Number.POSITIVE_INFINITY);
  }
  const indices = NON_ASCII.test(text) ? byteOffsetsToIndices(text, bounds) : bounds;
  const out: string[] = [];
  for (let k = 0; k < ranges.length; k++) {
    const from = Math.min(indices[2 * k] ?? text.length, text.length);
    const to = Math.min(indices[2 * k + 1] ?? text.length, text.length);
    out.push(text.slice(from, to).trim());
  }
  return out;
}

/** Maps ascending byte offsets to string indices (offsets past the end map to the length). */
function byteOffsetsToIndices(text: string, offsets: readonly number[]): number[] {
  const out: number[] = [];
  const n = text.length;
  let byte = 0;
  let i = 0;
  let k = 0;
  while (k < offsets.length) {
    const target = offsets[k]!;
    while (i < n && byte < target) {
      const c = text.charCodeAt(i);
      if (c < 0x80) {
        byte += 1;
        i += 1;
      } else if (c < 0x800) {
        byte += 2;
        i += 1;
      } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          byte += 4;
          i += 2;
        } else {
          byte += 3;
          i += 1;
        }
      } else {
        byte += 3;
        i += 1;
      }
    }
    out.push(i);
    k++;
  }
  return out;
}
