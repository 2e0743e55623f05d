import type { AuditRecord, Store } from "../store/index.ts";

interface Pending {
  readonly record: AuditRecord;
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

  constructor(private readonly store: Store) {}

  record(record: AuditRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    try {
      await this.store.appendAudit(batch.map((p) => p.record));
      for (const p of batch) p.resolve();
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
