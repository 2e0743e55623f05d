/** The indexed columns every audit event has. */
export interface AuditEnvelope {
  readonly id: string;
  readonly time: string;
  readonly type: string;
  readonly sessionId: string | null;
  readonly user: string | null;
  readonly connection: string | null;
  readonly effect: string | null;
}

/** One audit event as stored: indexed columns plus the full event as JSON. */
export interface AuditRecord extends AuditEnvelope {
  readonly data: Readonly<Record<string, unknown>>;
  /** `data` already serialised, when the producer has it (the hot path); must equal JSON of `data`. */
  readonly dataJson?: string;
}

export interface StoredAuditRecord extends AuditRecord {
  readonly seq: number;
}

/**
 * One row of the hash chain exactly as stored (see chain.ts). A row whose body retention removed
 * (`dataJson` null) keeps its place, id, time, type and hashes; its body columns are null.
 */
export interface ChainedAuditRecord extends AuditEnvelope {
  readonly seq: number;
  /** The stored data JSON text, or null when retention removed the body. */
  readonly dataJson: string | null;
  readonly prevHash: string;
  readonly bodyHash: string;
  readonly hash: string;
}

export interface AuditQuery {
  readonly user?: string;
  readonly connection?: string;
  readonly effect?: string;
  readonly type?: string;
  readonly since?: Date;
  readonly limit?: number;
}

/** A page of the chain in seq order. */
export interface ChainQuery {
  /** Only rows with a greater seq (default 0: from the start). */
  readonly afterSeq?: number;
  /** Only rows of this type. */
  readonly type?: string;
  /** Only rows at or after this time. */
  readonly since?: Date;
  readonly limit: number;
}

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * A retention run's rules as absolute cutoffs: an event whose time is before the cutoff for its
 * type (or the default cutoff) is past retention. Times are ISO-8601 UTC as events carry them.
 */
export interface RetentionCutoffs {
  readonly byType: Readonly<Record<string, string>>;
  /** Cutoff for types not listed; absent: such events are kept. */
  readonly default?: string;
}

export interface RetentionRequest {
  readonly cutoffs: RetentionCutoffs;
  /**
   * Types whose events keep their body until they leave with the prefix (the chain's own
   * bookkeeping: retention records and checkpoints).
   */
  readonly keepBodyTypePrefix: string;
  /** At most this many rows are changed in one transaction. */
  readonly maxRows: number;
  /** Builds the event that records this step; appended in the same transaction. */
  readonly record: (step: RetentionStep) => AuditRecord;
}

/** What one retention transaction did. */
export interface RetentionStep {
  /** Bodies removed from events past retention (the rows stay, so the chain still links). */
  readonly redacted: { readonly count: number; readonly firstSeq: number; readonly lastSeq: number } | null;
  /** The oldest rows deleted outright: each was redacted or past retention. */
  readonly deleted: {
    readonly count: number;
    readonly fromSeq: number;
    readonly toSeq: number;
    /** The hash of the last deleted row: the first surviving row's prev_hash. */
    readonly lastHash: string;
  } | null;
}

/**
 * Durable state behind one interface: SQLite embedded by default, PostgreSQL for replicas.
 * A rejected promise means the store could not take the write; callers fail closed.
 * The audit chain has one writer per store (one gateway process).
 */
export interface Store {
  readonly kind: string;
  /** Appends records in order, extending the hash chain, all or nothing. */
  appendAudit(records: readonly AuditRecord[]): Promise<void>;
  /** Events (not redacted) matching the query, the most recent `limit`, oldest first. */
  searchAudit(query: AuditQuery): Promise<StoredAuditRecord[]>;
  /** Rows of the chain in seq order, as stored (verification, export, sinks). */
  readAuditChain(query: ChainQuery): Promise<ChainedAuditRecord[]>;
  /** The newest row's seq and hash; undefined when the trail is empty. */
  auditHead(): Promise<ChainHead | undefined>;
  /**
   * One bounded retention step in one transaction: redact, delete the prefix, record the step.
   * Returns undefined (and records nothing) when nothing was past retention.
   */
  applyAuditRetention(request: RetentionRequest): Promise<RetentionStep | undefined>;
  close(): Promise<void>;
}
