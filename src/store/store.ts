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

/** Receives one notification's payload. It must not throw (an exception is caught and logged). */
export type NotificationHandler = (payload: string) => void;

export interface SubscribeOptions {
  /**
   * Called after the store's listening connection was lost and re-established: notifications
   * sent in between were missed, so re-read whatever state the channel announces.
   */
  readonly onReconnect?: () => void;
}

/** An active subscription; `unsubscribe` stops the handler (idempotent). */
export interface Subscription {
  unsubscribe(): Promise<void>;
}

/**
 * One approval request (a held command, or a time-boxed group grant) as stored. The approvals
 * module owns its meaning; the store keeps the row, its indexable columns and its version.
 */
export interface StoredApproval {
  readonly id: string;
  readonly kind: "command" | "grant";
  /** `pending`, `approved`, `denied`, `expired`, `used` (a command approval that ran). */
  readonly state: string;
  /** The requester's user name. */
  readonly requester: string;
  readonly connection: string;
  /** sha256 of the exact command text (`command`), null for grants. */
  readonly commandHash: string | null;
  /** ISO timestamps. */
  readonly createdAt: string;
  readonly expiresAt: string;
  /** Starts at 1; every update increments it (optimistic concurrency between gateways). */
  readonly version: number;
  /** Everything else: the command, facts, rule, reviewers, quorum, votes, grant groups... */
  readonly data: Readonly<Record<string, unknown>>;
}

export interface ApprovalQuery {
  readonly state?: string;
  readonly kind?: "command" | "grant";
  readonly requester?: string;
  readonly connection?: string;
  readonly commandHash?: string;
  /** Most recent first; default 100, at most 1000. */
  readonly limit?: number;
}

/**
 * Durable state behind one interface: SQLite embedded by default, PostgreSQL for several gateway
 * processes sharing one store. A rejected promise means the store could not take the write;
 * callers fail closed. Appends from several writers are serialized: the chain never forks and
 * its seqs have no gaps.
 */
export interface Store {
  readonly kind: string;
  /** Resolves once the store is reachable and its schema current; rejects with the reason otherwise. */
  ready(): Promise<void>;
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
  /**
   * Sends `payload` to every subscriber of `channel`, in this process and (PostgreSQL) in every
   * other process using the same store. At most once: a subscriber that is not listening at that
   * moment misses it. Channel: 1 to 48 characters of `A-Z a-z 0-9 _ . : -`; payload at most
   * 7000 bytes of UTF-8.
   */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Calls `handler` with the payload of each notification on `channel` from now on; resolves
   * once listening (a notify sent after that reaches the handler). Rejects when the store cannot
   * listen.
   */
  subscribe(channel: string, handler: NotificationHandler, options?: SubscribeOptions): Promise<Subscription>;
  /** Stores a new approval (version 1); rejects when the id exists. */
  insertApproval(approval: StoredApproval): Promise<void>;
  getApproval(id: string): Promise<StoredApproval | undefined>;
  /** Approvals matching every given field, most recent (createdAt) first. */
  listApprovals(query: ApprovalQuery): Promise<StoredApproval[]>;
  /**
   * Replaces the approval with `next` (whose version must be `expectedVersion + 1`) only when the
   * stored version is still `expectedVersion`; false when another writer changed it first.
   */
  updateApproval(next: StoredApproval, expectedVersion: number): Promise<boolean>;
  close(): Promise<void>;
}
