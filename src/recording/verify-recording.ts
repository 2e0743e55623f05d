import { type Chunk, chunkHash, GENESIS_HASH, type Seal } from "./chunk.ts";
import type { RecordingContents } from "./recording-file.ts";

/**
 * What verification can find (docs/recording.md#verification):
 * - `malformed`: a complete line that is not a chunk or a seal;
 * - `edited`: a chunk no longer matches its hash (its event, time, direction or seq changed, or it
 *   belongs to another session);
 * - `deleted`: seqs are missing;
 * - `reordered`: a chunk stands elsewhere than after the chunk before it in seq order;
 * - `inserted`: a seq occurs twice;
 * - `broken-link`: a chunk's `prev` is not the hash of the chunk before it (a chunk was replaced
 *   there with a rehashed one);
 * - `appended`: lines after the end chunk or after the seal;
 * - `bad-seal`: the seal does not match the chunks (count, last hash, session) or its signature
 *   does not verify.
 */
export type RecordingProblemKind =
  | "malformed"
  | "edited"
  | "deleted"
  | "reordered"
  | "inserted"
  | "broken-link"
  | "appended"
  | "bad-seal";

export interface RecordingProblem {
  readonly kind: RecordingProblemKind;
  /** The file's line number (1-based). */
  readonly line: number;
  readonly seq?: number;
  readonly message: string;
}

/**
 * - `sealed`: every chunk verified and the seal matches them (signature verified, or unchecked
 *   when verification had no key for it: see `seal.signature`);
 * - `unsealed`: every chunk verified but there is no seal: the gateway stopped before the session
 *   ended, or the session is still live. Chunks cut from the end cannot be told apart from that.
 * - `broken`: at least one problem.
 */
export type RecordingStatus = "sealed" | "unsealed" | "broken";

export interface RecordingReport {
  readonly sessionId: string;
  readonly status: RecordingStatus;
  /** Chunks read (complete lines only). */
  readonly chunks: number;
  /** Every chunk up to this seq verified (0: none). */
  readonly verifiedThrough: number;
  readonly lastHash: string | null;
  readonly seal: {
    readonly kid: string;
    readonly sealedAt: string;
    /** `unchecked`: no verifier, or signed by a key verification was not given. */
    readonly signature: "verified" | "unchecked" | "bad";
  } | null;
  /** A last line the writer did not finish; it is ignored, not a problem. */
  readonly tornTail: { readonly line: number; readonly bytes: number } | null;
  readonly problems: readonly RecordingProblem[];
}

export type SealSignatureCheck =
  | {
      readonly ok: true;
      readonly seal: { readonly sessionId: string; readonly chunks: number; readonly lastHash: string };
    }
  | { readonly ok: false; readonly unknownKey: boolean; readonly reason: string };

export interface VerifyRecordingOptions {
  /** Checks the seal's JWS with the gateway's public key; without it the signature is unchecked. */
  readonly verifySeal?: (jws: string) => Promise<SealSignatureCheck>;
}

/**
 * Verifies one recording: every chunk against its own hash (computed for `sessionId`, so a chunk
 * of another session fails), the seqs 1, 2, 3, … in file order, each `prev` against the hash of
 * the chunk before it, and the seal against the last chunk and the gateway's key.
 */
export async function verifyRecording(
  sessionId: string,
  contents: RecordingContents,
  options: VerifyRecordingOptions = {},
): Promise<RecordingReport> {
  const problems: RecordingProblem[] = [];
  const chunks: { chunk: Chunk; line: number }[] = [];
  let seal: { seal: Seal; line: number } | undefined;
  let endLine: number | undefined;

  for (const entry of contents.entries) {
    if (seal !== undefined) {
      problems.push({ kind: "appended", line: entry.line, message: `line ${entry.line}: after the seal` });
      continue;
    }
    if (entry.kind === "malformed") {
      problems.push({ kind: "malformed", line: entry.line, message: `line ${entry.line}: ${entry.reason}` });
    } else if (entry.kind === "seal") {
      seal = { seal: entry.seal, line: entry.line };
    } else if (endLine !== undefined) {
      problems.push({
        kind: "appended",
        line: entry.line,
        seq: entry.chunk.seq,
        message: `line ${entry.line}: chunk seq ${entry.chunk.seq} after the end chunk (line ${endLine})`,
      });
    } else {
      chunks.push({ chunk: entry.chunk, line: entry.line });
      if (entry.chunk.event.type === "end") endLine = entry.line;
    }
  }
  if (seal !== undefined && contents.tornTail !== null) {
    problems.push({
      kind: "appended",
      line: contents.tornTail.line,
      message: `line ${contents.tornTail.line}: after the seal`,
    });
  }

  const hashBySeq = new Map<number, string>();
  const lastIndexOfSeq = new Map<number, number>();
  for (const [i, { chunk }] of chunks.entries()) {
    if (!hashBySeq.has(chunk.seq)) hashBySeq.set(chunk.seq, chunk.hash);
    lastIndexOfSeq.set(chunk.seq, i);
  }

  const seen = new Set<number>();
  let previousSeq = 0;
  let firstBad = chunks.length;
  for (const [i, { chunk, line }] of chunks.entries()) {
    const before = problems.length;
    const at = { line, seq: chunk.seq };
    if (chunkHash(sessionId, chunk) !== chunk.hash) {
      problems.push({
        kind: "edited",
        ...at,
        message: `line ${line}: chunk seq ${chunk.seq} does not match its hash (edited, or not of session ${sessionId})`,
      });
    } else if (chunk.seq === 1 && !isStartOf(chunk, sessionId)) {
      problems.push({
        kind: "edited",
        ...at,
        message: `line ${line}: chunk seq 1 is not this session's start`,
      });
    }
    const linked = chunk.seq === 1 ? GENESIS_HASH : hashBySeq.get(chunk.seq - 1);
    if (linked !== undefined && chunk.prev !== linked) {
      problems.push({
        kind: "broken-link",
        ...at,
        message: `line ${line}: chunk seq ${chunk.seq} does not follow the chunk seq ${chunk.seq - 1} it was chained to`,
      });
    }
    if (chunk.seq !== previousSeq + 1) {
      if (seen.has(chunk.seq)) {
        problems.push({ kind: "inserted", ...at, message: `line ${line}: a second chunk seq ${chunk.seq}` });
      } else if (chunk.seq <= previousSeq) {
        problems.push({
          kind: "reordered",
          ...at,
          message: `line ${line}: chunk seq ${chunk.seq} stands after seq ${previousSeq}`,
        });
      } else {
        const later: number[] = [];
        const missing: number[] = [];
        for (let s = previousSeq + 1; s < chunk.seq; s++) {
          if (seen.has(s)) continue;
          if ((lastIndexOfSeq.get(s) ?? -1) > i) later.push(s);
          else missing.push(s);
        }
        if (later.length > 0) {
          problems.push({
            kind: "reordered",
            ...at,
            message: `line ${line}: chunk seq ${chunk.seq} stands before seq ${describeSeqs(later)}`,
          });
        }
        if (missing.length > 0) {
          problems.push({
            kind: "deleted",
            line,
            seq: missing[0]!,
            message: `line ${line}: chunk seq ${describeSeqs(missing)} missing before seq ${chunk.seq}`,
          });
        }
      }
    }
    seen.add(chunk.seq);
    previousSeq = Math.max(previousSeq, chunk.seq);
    if (problems.length > before && firstBad === chunks.length) firstBad = i;
  }
  // Problems before the first chunk (a malformed line) stop the verified run there too.
  const firstProblemLine = Math.min(...problems.map((p) => p.line), Number.POSITIVE_INFINITY);
  while (firstBad > 0 && chunks[firstBad - 1]!.line > firstProblemLine) firstBad--;
  const verifiedThrough = firstBad === 0 ? 0 : chunks[firstBad - 1]!.chunk.seq;

  const last = chunks.at(-1)?.chunk;
  let sealReport: RecordingReport["seal"] = null;
  if (seal !== undefined) {
    const s = seal.seal;
    const badSeal = (message: string) =>
      problems.push({ kind: "bad-seal", line: seal.line, message: `line ${seal.line}: ${message}` });
    if (s.session_id !== sessionId) badSeal(`the seal is for session ${s.session_id}`);
    if (s.chunks !== chunks.length || s.chunks !== (last?.seq ?? 0)) {
      badSeal(`the seal covers ${s.chunks} chunks, the recording has ${chunks.length}`);
    } else if (s.last_hash !== last?.hash) {
      badSeal(`the seal's last hash is not the last chunk's hash`);
    }
    if (endLine === undefined) badSeal("sealed without an end chunk");
    let signature: "verified" | "unchecked" | "bad" = "unchecked";
    if (options.verifySeal !== undefined) {
      const check = await options.verifySeal(s.jws);
      if (check.ok) {
        const signed = check.seal;
        if (
          signed.sessionId !== s.session_id ||
          signed.chunks !== s.chunks ||
          signed.lastHash !== s.last_hash
        ) {
          signature = "bad";
          badSeal("the signed statement is not the seal's (session, chunk count or last hash differ)");
        } else {
          signature = "verified";
        }
      } else if (check.unknownKey) {
        signature = "unchecked";
      } else {
        signature = "bad";
        badSeal(`the seal's signature: ${check.reason}`);
      }
    }
    sealReport = { kid: s.kid, sealedAt: s.sealed_at, signature };
  }

  return {
    sessionId,
    status: problems.length > 0 ? "broken" : seal !== undefined ? "sealed" : "unsealed",
    chunks: chunks.length,
    verifiedThrough,
    lastHash: last?.hash ?? null,
    seal: sealReport,
    tornTail: contents.tornTail,
    problems,
  };
}

function isStartOf(chunk: Chunk, sessionId: string): boolean {
  return chunk.event.type === "start" && chunk.event.session_id === sessionId;
}

function describeSeqs(seqs: readonly number[]): string {
  const first = seqs[0]!;
  const last = seqs.at(-1)!;
  return first === last ? String(first) : `${first}..${last}`;
}

/** One line for people: what the report means. */
export function describeStatus(report: RecordingReport): string {
  const torn = report.tornTail ? `; torn last line ${report.tornTail.line} ignored` : "";
  switch (report.status) {
    case "sealed":
      return report.seal?.signature === "verified"
        ? `sealed and verified: ${report.chunks} chunks`
        : `sealed, seal signature not checked (no key for kid ${report.seal?.kid}): ${report.chunks} chunks`;
    case "unsealed":
      return `unsealed (gateway stopped?): ${report.chunks} chunks verified${torn}`;
    case "broken":
      return `BROKEN: ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}; chunks verified through seq ${report.verifiedThrough}${torn}`;
  }
}
