import { bodyHash, type ChainedAuditRecord, type ChainHead, GENESIS_HASH, linkHash } from "../store/index.ts";
import { AuditEventType } from "./audit-event.ts";

/**
 * What verification can find:
 * - `edited`: a row no longer matches its own hashes (its content, header or hash was changed);
 * - `deleted`: seqs are missing (in the middle, or at the start without a retention record);
 * - `reordered`: a row stands at another seq than the one it was written with;
 * - `broken-link`: a row's prev_hash is not the hash of the row before it (a row was inserted,
 *   moved or replaced there);
 * - `inserted`: rows stand between two rows that were chained to each other;
 * - `unaccounted-redaction`: a row's body is gone but no later retention record covers it;
 * - `head-mismatch`: the head the operator recorded (`--expect-head`) is not in the chain;
 * - `bad-checkpoint`: a signed checkpoint does not verify or does not match the chain.
 */
export type ChainProblemKind =
  | "edited"
  | "deleted"
  | "reordered"
  | "broken-link"
  | "inserted"
  | "unaccounted-redaction"
  | "head-mismatch"
  | "bad-checkpoint";

export interface ChainProblem {
  readonly kind: ChainProblemKind;
  /** The first seq concerned. */
  readonly seq: number;
  /** The last seq concerned, for a range. */
  readonly toSeq?: number;
  readonly message: string;
}

export interface ChainReport {
  readonly ok: boolean;
  /** Rows examined. */
  readonly events: number;
  readonly firstSeq: number | null;
  readonly head: ChainHead | null;
  /** Rows whose body retention removed (each accounted for, or reported). */
  readonly redacted: number;
  /** Seqs before the first row that a retention record accounts for (1..deletedBefore). */
  readonly deletedThrough: number;
  readonly checkpoints: CheckpointSummary;
  readonly problems: readonly ChainProblem[];
  /** All problems found; `problems` holds at most `maxProblems` of them. */
  readonly problemCount: number;
}

/** What a signature check of a checkpoint found. */
export type SignedHeadCheck =
  | { readonly ok: true; readonly head: ChainHead }
  | { readonly ok: false; readonly unknownKey: boolean; readonly reason: string };

export interface CheckpointSummary {
  /** `audit.checkpoint` rows seen. */
  readonly count: number;
  /** Whose signature verified and whose signed head matches the chain. */
  readonly verified: number;
  /** Signed with a key verification was not given (e.g. before a key rotation), or not checked. */
  readonly unchecked: number;
  /** The newest row a verified signature vouches for. */
  readonly lastVerifiedSeq: number | null;
}

export interface ChainSource {
  /** Every row in seq order. May be called more than once. */
  rows(): AsyncIterable<ChainedAuditRecord>;
  /** The retention records (`audit.retention_applied` rows), in seq order. */
  retentionRecords(): AsyncIterable<ChainedAuditRecord>;
}

export interface VerifyOptions {
  /** A head recorded earlier (e.g. printed by a previous verify): it must still be in the chain. */
  readonly expectHead?: ChainHead;
  /**
   * The first row's prev_hash is taken as given (an export that starts mid-chain) instead of
   * requiring the genesis hash or a retention record.
   */
  readonly anchoredAtFirstRow?: boolean;
  /**
   * Verifies the signature of a checkpoint's signed head (the gateway's key); without it,
   * checkpoints are counted but not checked.
   */
  readonly verifySignedHead?: (jws: string) => Promise<SignedHeadCheck>;
  /** How many problems to keep in the report (all are counted). Default 1000. */
  readonly maxProblems?: number;
}

/** How far from its place a moved row is looked for. */
const MOVE_WINDOW = 64;
/** How many of the latest rows' hashes a checkpoint can be checked against. */
const RECENT_ROWS = 4096;
/** Rows examined for a move at most (each costs up to 2 × MOVE_WINDOW hashes). */
const MOVE_SEARCH_LIMIT = 10_000;

interface RetentionFacts {
  readonly seq: number;
  readonly byType: Readonly<Record<string, string>>;
  readonly fallback: string | undefined;
  readonly deleted: { readonly toSeq: number; readonly lastHash: string } | undefined;
}

function readRetentionFacts(row: ChainedAuditRecord): RetentionFacts | undefined {
  if (row.dataJson === null) return undefined;
  try {
    const data = JSON.parse(row.dataJson) as {
      cutoffs?: { by_type?: Record<string, unknown>; default?: unknown };
      deleted?: { to_seq?: unknown; last_hash?: unknown } | null;
    };
    const byType: Record<string, string> = {};
    for (const [type, cutoff] of Object.entries(data.cutoffs?.by_type ?? {})) {
      if (typeof cutoff === "string") byType[type] = cutoff;
    }
    const fallback = typeof data.cutoffs?.default === "string" ? data.cutoffs.default : undefined;
    const d = data.deleted;
    const deleted =
      d && typeof d.to_seq === "number" && typeof d.last_hash === "string"
        ? { toSeq: d.to_seq, lastHash: d.last_hash }
        : undefined;
    return { seq: row.seq, byType, fallback, deleted };
  } catch {
    return undefined;
  }
}

/**
 * Answers "does a retention record after seq s expire events of type t older than time τ?" with
 * suffix maxima of each type's cutoff over the records in seq order.
 */
class RetentionIndex {
  private readonly suffixMax = new Map<string, (string | undefined)[]>();
  constructor(readonly records: readonly RetentionFacts[]) {}

  accounts(seq: number, type: string, time: string): boolean {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.records[mid]!.seq > seq) hi = mid;
      else lo = mid + 1;
    }
    const cutoff = this.maxima(type)[lo];
    return cutoff !== undefined && time < cutoff;
  }

  private maxima(type: string): (string | undefined)[] {
    let maxima = this.suffixMax.get(type);
    if (maxima === undefined) {
      maxima = new Array<string | undefined>(this.records.length + 1).fill(undefined);
      for (let i = this.records.length - 1; i >= 0; i--) {
        const r = this.records[i]!;
        const cutoff = r.byType[type] ?? r.fallback;
        const later = maxima[i + 1];
        maxima[i] = cutoff !== undefined && (later === undefined || cutoff > later) ? cutoff : later;
      }
      this.suffixMax.set(type, maxima);
    }
    return maxima;
  }
}

/**
 * Walks the chain in seq order and reports every problem: each row must match its hashes, follow
 * the previous row's seq and hash, and a removed body or a missing start must be accounted for by
 * a retention record (docs/audit.md#verification).
 */
export async function verifyChain(source: ChainSource, options: VerifyOptions = {}): Promise<ChainReport> {
  const maxProblems = options.maxProblems ?? 1000;
  const problems: ChainProblem[] = [];
  let problemCount = 0;
  const report = (problem: ChainProblem): void => {
    problemCount++;
    const last = problems.at(-1);
    // A run of rows moved by the same distance is one problem.
    if (
      problem.kind === "reordered" &&
      last?.kind === "reordered" &&
      (last.toSeq ?? last.seq) + 1 === problem.seq &&
      last.message === problem.message
    ) {
      problems[problems.length - 1] = { ...last, toSeq: problem.seq };
      problemCount--;
      return;
    }
    if (problems.length < maxProblems) problems.push(problem);
  };

  const retention: RetentionFacts[] = [];
  for await (const row of source.retentionRecords()) {
    const facts = readRetentionFacts(row);
    if (facts !== undefined) retention.push(facts);
  }
  const index = new RetentionIndex(retention);

  let events = 0;
  let redacted = 0;
  let checkpoints = 0;
  let verified = 0;
  let unchecked = 0;
  let lastVerifiedSeq: number | null = null;
  let firstSeq: number | null = null;
  let deletedThrough = 0;
  let prev: ChainHead | undefined;
  let prevMoved = false;
  let moveSearches = 0;
  let expectSeen = false;
  // Recent hashes by seq, for checkpoints that name a row shortly before themselves.
  const recent = new Map<number, string>();

  for await (const row of source.rows()) {
    events++;
    recent.set(row.seq, row.hash);
    if (recent.size > RECENT_ROWS) recent.delete(recent.keys().next().value as number);
    const where = `seq ${row.seq}`;

    // 1. The row matches its own hashes.
    let moved = false;
    const bodyOk =
      row.dataJson === null ||
      bodyHash({
        sessionId: row.sessionId,
        user: row.user,
        connection: row.connection,
        effect: row.effect,
        dataJson: row.dataJson,
      }) === row.bodyHash;
    if (!bodyOk) {
      report({
        kind: "edited",
        seq: row.seq,
        message: `${where}: edited: its user, connection, effect or data no longer match its body_hash`,
      });
    } else if (linkHash(row, row.bodyHash) !== row.hash) {
      const writtenAs = moveSearches++ < MOVE_SEARCH_LIMIT ? findWrittenSeq(row) : undefined;
      if (writtenAs !== undefined) {
        moved = true;
        const shift = row.seq - writtenAs;
        // Moved later, right after a row in its place, and chained to a row `shift` places back:
        // the rows in between were put there.
        if (shift > 0 && prev !== undefined && !prevMoved && recent.get(writtenAs - 1) === row.prevHash) {
          report({
            kind: "inserted",
            seq: writtenAs,
            ...(shift > 1 ? { toSeq: row.seq - 1 } : {}),
            message: `seq ${shift > 1 ? `${writtenAs}..${row.seq - 1}` : writtenAs}: inserted: seq ${row.seq} was chained to seq ${writtenAs - 1}`,
          });
        }
        report({
          kind: "reordered",
          seq: row.seq,
          message: `reordered: moved ${Math.abs(shift)} place${Math.abs(shift) === 1 ? "" : "s"} ${shift > 0 ? "later" : "earlier"} than written`,
        });
      } else {
        report({
          kind: "edited",
          seq: row.seq,
          message: `${where}: edited: its seq, prev_hash, id, time, type or hash no longer match`,
        });
      }
    }

    // 2. The row follows the previous one.
    if (prev === undefined) {
      firstSeq = row.seq;
      if (options.anchoredAtFirstRow) {
        // Taken as given.
      } else if (row.seq === 1) {
        if (row.prevHash !== GENESIS_HASH && !moved) {
          report({
            kind: "broken-link",
            seq: 1,
            message: `${where}: broken link: the first row's prev_hash is not the genesis hash`,
          });
        }
      } else if (
        retention.some((r) => r.deleted?.toSeq === row.seq - 1 && r.deleted.lastHash === row.prevHash)
      ) {
        deletedThrough = row.seq - 1;
      } else {
        report({
          kind: "deleted",
          seq: 1,
          toSeq: row.seq - 1,
          message: `seq 1..${row.seq - 1}: deleted: missing before the first row, and no retention record accounts for them`,
        });
      }
    } else if (row.seq !== prev.seq + 1) {
      const from = prev.seq + 1;
      const to = row.seq - 1;
      report({
        kind: "deleted",
        seq: from,
        toSeq: to,
        message: `seq ${from === to ? from : `${from}..${to}`}: deleted: missing between seq ${prev.seq} and seq ${row.seq}`,
      });
    } else if (row.prevHash !== prev.hash && !moved) {
      report({
        kind: "broken-link",
        seq: row.seq,
        message: `${where}: broken link: its prev_hash is not the hash of seq ${prev.seq} (a row was inserted, moved or replaced)`,
      });
    }

    // 3. A removed body must be accounted for by a later retention record.
    if (row.dataJson === null) {
      redacted++;
      if (!index.accounts(row.seq, row.type, row.time)) {
        report({
          kind: "unaccounted-redaction",
          seq: row.seq,
          message: `${where}: body removed, but no retention record expires ${row.type} events from ${row.time}`,
        });
      }
    }

    // 4. Signed checkpoints: the signature verifies, and the signed row is in the chain as signed.
    if (row.type === AuditEventType.checkpoint && row.dataJson !== null) {
      checkpoints++;
      const problem = await checkCheckpoint(row, recent, options.verifySignedHead);
      if (problem === "unchecked") unchecked++;
      else if (problem !== undefined) {
        report({ kind: "bad-checkpoint", seq: row.seq, message: `${where}: bad checkpoint: ${problem}` });
      } else {
        verified++;
        lastVerifiedSeq = row.seq;
      }
    }

    if (options.expectHead?.seq === row.seq) {
      expectSeen = true;
      if (row.hash !== options.expectHead.hash) {
        report({
          kind: "head-mismatch",
          seq: row.seq,
          message: `${where}: head mismatch: its hash is ${row.hash}, not the recorded ${options.expectHead.hash}`,
        });
      }
    }
    prev = { seq: row.seq, hash: row.hash };
    prevMoved = moved;
  }

  const expected = options.expectHead;
  if (expected && !expectSeen) {
    const removed = firstSeq !== null && expected.seq < firstSeq && expected.seq <= deletedThrough;
    if (!removed) {
      report({
        kind: "head-mismatch",
        seq: expected.seq,
        message:
          prev === undefined || expected.seq > prev.seq
            ? `seq ${expected.seq}: head mismatch: the chain ends at seq ${prev?.seq ?? 0}, before the recorded head (rows were removed from the end)`
            : `seq ${expected.seq}: head mismatch: the recorded head is not in the chain`,
      });
    }
  }

  // Merged "reordered" runs get their range in the message.
  const named = problems.map((p) =>
    p.kind === "reordered"
      ? { ...p, message: `seq ${p.toSeq === undefined ? p.seq : `${p.seq}..${p.toSeq}`}: ${p.message}` }
      : p,
  );
  return {
    ok: problemCount === 0,
    events,
    firstSeq,
    head: prev ?? null,
    redacted,
    deletedThrough,
    checkpoints: { count: checkpoints, verified, unchecked, lastVerifiedSeq },
    problems: named,
    problemCount,
  };
}

/** A problem with a checkpoint row, "unchecked", or undefined when it verified. */
async function checkCheckpoint(
  row: ChainedAuditRecord,
  recent: ReadonlyMap<number, string>,
  verifySignedHead: VerifyOptions["verifySignedHead"],
): Promise<string | undefined> {
  let data: { head?: { seq?: unknown; hash?: unknown }; jws?: unknown };
  try {
    data = JSON.parse(row.dataJson ?? "null") as typeof data;
  } catch {
    return "its data is not JSON";
  }
  const seq = data.head?.seq;
  const hash = data.head?.hash;
  if (typeof seq !== "number" || typeof hash !== "string" || typeof data.jws !== "string") {
    return "it does not name a signed head";
  }
  if (seq >= row.seq) return `it signs seq ${seq}, which is not before it`;
  const stored = recent.get(seq);
  if (stored !== undefined && stored !== hash) {
    return `it signs seq ${seq} with hash ${hash}, but that row's hash is ${stored} (the chain was rewritten)`;
  }
  if (verifySignedHead === undefined) return "unchecked";
  const signed = await verifySignedHead(data.jws);
  if (!signed.ok) return signed.unknownKey ? "unchecked" : signed.reason;
  if (signed.head.seq !== seq || signed.head.hash !== hash)
    return "the signed head differs from the one it names";
  return undefined;
}

/** The seq a row's hash was computed with, when it is near its current place. */
function findWrittenSeq(row: ChainedAuditRecord): number | undefined {
  for (let distance = 1; distance <= MOVE_WINDOW; distance++) {
    for (const seq of [row.seq - distance, row.seq + distance]) {
      if (seq >= 1 && linkHash({ ...row, seq }, row.bodyHash) === row.hash) return seq;
    }
  }
  return undefined;
}

/** A chain source over a store, read page by page. */
export function storeChainSource(
  store: {
    readAuditChain: (q: { afterSeq?: number; type?: string; limit: number }) => Promise<ChainedAuditRecord[]>;
  },
  pageSize = 2000,
): ChainSource {
  async function* pages(type?: string): AsyncIterable<ChainedAuditRecord> {
    let afterSeq = 0;
    for (;;) {
      const page = await store.readAuditChain({ afterSeq, limit: pageSize, ...(type ? { type } : {}) });
      yield* page;
      if (page.length < pageSize) return;
      afterSeq = page.at(-1)!.seq;
    }
  }
  return { rows: () => pages(), retentionRecords: () => pages(AuditEventType.retentionApplied) };
}
