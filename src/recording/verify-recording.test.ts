import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SigningKey } from "../identity/index.ts";
import { type Chunk, chunkHash, type Seal } from "./chunk.ts";
import { readRecording } from "./recording-file.ts";
import { recordPostgresSession, sealChecker, tempDir, testKey } from "./test-support.ts";
import { type RecordingReport, verifyRecording } from "./verify-recording.ts";

let key: SigningKey;
let temp: Awaited<ReturnType<typeof tempDir>>;
/** The lines (without LF) of a sealed recording "s-v": 6 chunks, then the seal. */
let lines: string[];
let other: string[];
before(async () => {
  key = await testKey();
  temp = await tempDir();
  await recordPostgresSession(temp.dir, key, "s-v");
  await recordPostgresSession(temp.dir, key, "s-other", { user: "mallory@corp.example" });
  lines = (await readFile(join(temp.dir, "s-v.jsonl"), "utf8")).trimEnd().split("\n");
  other = (await readFile(join(temp.dir, "s-other.jsonl"), "utf8")).trimEnd().split("\n");
});
after(() => temp.remove());

async function verify(text: string, id = "s-v"): Promise<RecordingReport> {
  return verifyRecording(id, readRecording(Buffer.from(text)), { verifySeal: await sealChecker(key) });
}
const join_ = (ls: readonly string[]) => `${ls.join("\n")}\n`;
const chunk = (line: string) => JSON.parse(line) as Chunk;
const kinds = (r: RecordingReport) => r.problems.map((p) => [p.kind, p.seq ?? null]);

describe("verifyRecording", () => {
  it("accepts the recording as written", async () => {
    const report = await verify(join_(lines));
    assert.equal(lines.length, 7);
    assert.equal(report.status, "sealed");
    assert.equal(report.seal?.signature, "verified");
    assert.deepEqual(report.problems, []);
  });

  it("detects an edited chunk (its hash kept)", async () => {
    const edited = [...lines];
    edited[1] = edited[1]!.replace("SELECT id, email FROM users LIMIT 2", "SELECT 1");
    const report = await verify(join_(edited));
    assert.equal(report.status, "broken");
    assert.deepEqual(kinds(report), [["edited", 2]]);
    assert.equal(report.verifiedThrough, 1);
  });

  it("detects an edited chunk whose hash was recomputed: the next link breaks", async () => {
    const c = chunk(lines[2]!);
    const forged = { ...c, event: { ...c.event, rows: [] } } as Chunk;
    const rehashed = { ...forged, hash: chunkHash("s-v", forged) };
    const edited = [...lines];
    edited[2] = JSON.stringify(rehashed);
    const report = await verify(join_(edited));
    assert.deepEqual(kinds(report), [["broken-link", 4]]);
    assert.equal(report.verifiedThrough, 3);
  });

  it("detects a changed time offset or direction", async () => {
    const edited = [...lines];
    edited[3] = edited[3]!.replace('"t":1135', '"t":5');
    edited[4] = edited[4]!.replace('"dir":"out"', '"dir":"in"');
    assert.deepEqual(kinds(await verify(join_(edited))), [
      ["edited", 4],
      ["edited", 5],
    ]);
  });

  it("detects a deleted chunk (and the seal no longer matches)", async () => {
    const deleted = lines.filter((_, i) => i !== 2);
    const report = await verify(join_(deleted));
    assert.deepEqual(kinds(report), [
      ["deleted", 3],
      ["bad-seal", null],
    ]);
    assert.equal(report.verifiedThrough, 2);
    assert.match(report.problems[0]!.message, /chunk seq 3 missing before seq 4/);
  });

  it("detects deleted chunks at the end of a sealed recording", async () => {
    const cut = [...lines.slice(0, 4), lines[6]!];
    const report = await verify(join_(cut));
    assert.deepEqual(kinds(report), [
      ["bad-seal", null],
      ["bad-seal", null],
    ]);
    assert.match(report.problems[0]!.message, /covers 6 chunks, the recording has 4/);
    assert.match(report.problems[1]!.message, /without an end chunk/);
  });

  it("detects reordered chunks", async () => {
    const swapped = [...lines];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    const report = await verify(join_(swapped));
    assert.equal(report.status, "broken");
    assert.deepEqual(kinds(report), [
      ["reordered", 4],
      ["reordered", 3],
    ]);
    assert.equal(report.verifiedThrough, 2);
  });

  it("detects a duplicated (inserted) chunk", async () => {
    const duplicated = [...lines.slice(0, 3), lines[1]!, ...lines.slice(3)];
    assert.deepEqual(kinds(await verify(join_(duplicated))), [
      ["inserted", 2],
      ["bad-seal", null],
    ]);
  });

  it("detects a chunk taken from another session's recording", async () => {
    const spliced = [...lines];
    spliced[1] = other[1]!;
    const report = await verify(join_(spliced));
    assert.deepEqual(kinds(report)[0], ["edited", 2]);
  });

  it("detects chunks appended after the seal, or after the end chunk", async () => {
    const c = chunk(lines[5]!);
    const next = {
      seq: 7,
      t: 9999,
      dir: "in",
      event: { type: "input", data: "rm -rf /" },
      prev: c.hash,
    } as Chunk;
    const appended = { ...next, hash: chunkHash("s-v", next) };
    const afterSeal = await verify(join_([...lines, JSON.stringify(appended)]));
    assert.deepEqual(kinds(afterSeal), [["appended", null]]);
    const afterEnd = await verify(join_([...lines.slice(0, 6), JSON.stringify(appended)]));
    assert.deepEqual(kinds(afterEnd), [["appended", 7]]);
    assert.equal(afterEnd.status, "broken");
  });

  it("detects a bad seal: wrong count, a bad signature, another session's seal", async () => {
    const seal = (JSON.parse(lines[6]!) as { seal: Seal }).seal;
    const wrongCount = join_([...lines.slice(0, 6), JSON.stringify({ seal: { ...seal, chunks: 5 } })]);
    assert.deepEqual(kinds(await verify(wrongCount)), [
      ["bad-seal", null],
      ["bad-seal", null],
    ]);
    const [h, p, s] = seal.jws.split(".");
    const flipped = `${h}.${p}.${s?.startsWith("A") ? `B${s.slice(1)}` : `A${s?.slice(1)}`}`;
    const badSignature = await verify(
      join_([...lines.slice(0, 6), JSON.stringify({ seal: { ...seal, jws: flipped } })]),
    );
    assert.deepEqual(kinds(badSignature), [["bad-seal", null]]);
    assert.equal(badSignature.seal?.signature, "bad");
    assert.match(badSignature.problems[0]!.message, /signature does not verify/);
    // A genuine seal of another session, its fields copied to match this one: the signature says otherwise.
    const otherSeal = (JSON.parse(other[6]!) as { seal: Seal }).seal;
    const copied = { ...seal, jws: otherSeal.jws };
    const foreign = await verify(join_([...lines.slice(0, 6), JSON.stringify({ seal: copied })]));
    assert.deepEqual(kinds(foreign), [["bad-seal", null]]);
    assert.match(foreign.problems[0]!.message, /signed statement is not the seal's/);
  });

  it("leaves a seal signed with an unknown key unchecked, not verified", async () => {
    const report = await verifyRecording("s-v", readRecording(Buffer.from(join_(lines))), {
      verifySeal: await sealChecker(await testKey()),
    });
    assert.equal(report.status, "sealed");
    assert.equal(report.seal?.signature, "unchecked");
  });

  it("reports a torn line as torn, not as tampering, and a malformed complete line as malformed", async () => {
    const text = join_(lines.slice(0, 5));
    const torn = await verify(text + lines[5]!.slice(0, 40));
    assert.equal(torn.status, "unsealed");
    assert.deepEqual(torn.problems, []);
    assert.deepEqual(torn.tornTail, { line: 6, bytes: 40 });
    assert.equal(torn.verifiedThrough, 5);
    // A torn seal line leaves the recording unsealed.
    const tornSeal = await verify(join_(lines.slice(0, 6)) + lines[6]!.slice(0, 100));
    assert.equal(tornSeal.status, "unsealed");
    assert.deepEqual(tornSeal.problems, []);
    const malformed = await verify(join_([...lines.slice(0, 2), "{not json", ...lines.slice(2)]));
    assert.deepEqual(kinds(malformed), [["malformed", null]]);
    assert.equal(malformed.verifiedThrough, 2);
  });

  it("reports a missing start chunk as deleted", async () => {
    const report = await verify(join_(lines.slice(1)));
    assert.deepEqual(kinds(report)[0], ["deleted", 1]);
    assert.equal(report.verifiedThrough, 0);
  });
});
