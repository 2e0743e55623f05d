import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BackendScanner } from "./backend-scanner.ts";

function msg(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const stream = Buffer.concat([
  msg("T", Buffer.from("rowdesc")),
  msg("D", Buffer.alloc(300, 7)),
  msg("1", Buffer.alloc(0)),
  msg("E", Buffer.from("SERROR\0Mboom\0\0")),
  msg("C", Buffer.from("SELECT 1\0")),
  msg("Z", Buffer.from("I")),
]);

function run(chunks: Buffer[], replaceErrors: boolean, wantEmpty = false) {
  const seen: string[] = [];
  const scanner = new BackendScanner(
    {
      wants: (t) => t === 0x5a || (replaceErrors && t === 0x45) || (wantEmpty && t === 0x31),
      inspect: (t, body) => {
        seen.push(`${String.fromCharCode(t)}:${body.toString("latin1")}`);
        return t === 0x45 ? msg("E", Buffer.from("replaced")) : undefined;
      },
    },
    1 << 20,
  );
  const out = Buffer.concat(chunks.flatMap((c) => scanner.scan(c)));
  return { out, seen };
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    chunks.push(buf.subarray(last, p));
    last = p;
  }
  chunks.push(buf.subarray(last));
  return chunks;
}

test("passes a stream through unchanged however it is chunked", () => {
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (cuts, wantEmpty) => {
      const { out, seen } = run(split(stream, cuts), false, wantEmpty);
      assert.deepEqual(out, stream);
      assert.deepEqual(seen, wantEmpty ? ["1:", "Z:I"] : ["Z:I"]);
    }),
  );
});

test("replaces a wanted message however it is chunked", () => {
  const expected = Buffer.from(stream);
  const errorStart = stream.indexOf(Buffer.from("ESERROR".slice(0, 1)), 5 + 7 + 5 + 300 + 5);
  const errorLength = 5 + "SERROR\0Mboom\0\0".length;
  const replaced = Buffer.concat([
    expected.subarray(0, errorStart),
    msg("E", Buffer.from("replaced")),
    expected.subarray(errorStart + errorLength),
  ]);
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
      const { out, seen } = run(split(stream, cuts), true);
      assert.deepEqual(out, replaced);
      assert.deepEqual(seen, ["E:SERROR\0Mboom\0\0", "Z:I"]);
    }),
  );
});

test("rejects an impossible length", () => {
  const scanner = new BackendScanner({ wants: () => false, inspect: () => undefined }, 100);
  assert.throws(() => scanner.scan(Buffer.from([0x44, 0, 0, 0, 2])), /invalid server message length/);
});

test("knows whether what it passed on ends between messages, however the stream is cut", () => {
  // Boundaries in the stream: after each whole message.
  const boundaries = new Set<number>([0]);
  for (let o = 0; o < stream.length; ) {
    o += 1 + stream.readUInt32BE(o + 1);
    boundaries.add(o);
  }
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (cuts, wantErrors) => {
      const scanner = new BackendScanner(
        { wants: (type) => wantErrors && type === 0x45, inspect: () => undefined },
        1 << 20,
      );
      let consumed = 0;
      for (const piece of split(stream, cuts)) {
        scanner.scan(piece);
        consumed += piece.length;
        assert.equal(scanner.atBoundary, boundaries.has(consumed), `after ${consumed} bytes`);
      }
    }),
  );
});
