/** One audit event as stored: indexed columns plus the full event as JSON. */
export interface AuditRecord {
  readonly id: string;
  readonly time: string;
  readonly type: string;
  readonly sessionId: string | null;
  readonly user: string | null;
  readonly connection: string | null;
  readonly effect: string | null;
  readonly data: Readonly<Record<string, unknown>>;
  /** `data` already serialised, when the producer has it (the hot path); must equal JSON of `data`. */
  readonly dataJson?: string;
}

export interface StoredAuditRecord extends AuditRecord {
  readonly seq: number;
}

export interface AuditQuery {
  readonly user?: string;
  readonly connection?: string;
  readonly effect?: string;
  readonly type?: string;
  readonly since?: Date;
  readonly limit?: number;
}

/**
 * Durable state behind one interface: SQLite embedded by default, PostgreSQL for replicas.
 * A rejected promise means the store could not take the write; callers fail closed.
 */
export interface Store {
  readonly kind: string;
  appendAudit(records: readonly AuditRecord[]): Promise<void>;
  searchAudit(query: AuditQuery): Promise<StoredAuditRecord[]>;
  close(): Promise<void>;
}
