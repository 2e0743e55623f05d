import type { AuditRecord, Store } from "../store/index.ts";

interface Pending {
  readonly records: readonly AuditRecord[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Write-ahead audit with group commit: every event recorded in one turn of the event loop is
 * written in one store transaction, and each caller learns whether its event is durable before
 * it forwards anything.
 */
export class AuditLog {
  private queue: Pending[] = [];
  private scheduled = false;
  private writing: Promise<void> | undefined;

  constructor(private readonly store: Store) {}

  record(record: AuditRecord): Promise<void> {
    return this.recordAll([record]);
  }

  /** Records several events that stand or fall together (one promise for the lot). */
  recordAll(records: readonly AuditRecord[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Resolves once everything recorded so far has been written (or refused). */
  async settle(): Promise<void> {
    while (this.scheduled || this.writing !== undefined) {
      await (this.writing ?? new Promise<void>((resolve) => setImmediate(resolve)));
    }
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    const writing = this.write(batch);
    this.writing = writing;
    await writing;
    if (this.writing === writing) this.writing = undefined;
  }

  private async write(batch: readonly Pending[]): Promise<void> {
    try {
      await this.store.appendAudit(batch.length === 1 ? batch[0]!.records : batch.flatMap((p) => p.records));
      for (const p of batch) p.resolve();
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
