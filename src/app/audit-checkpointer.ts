import { AuditEventType, type AuditLog, checkpointEvent } from "../audit/index.ts";
import { type SigningKey, signAuditHead } from "../identity/index.ts";
import type { Store } from "../store/index.ts";

/**
 * Writes signed checkpoints into the audit chain: every interval when the chain has grown, and
 * once more when the gateway stops. Each signs the head at that moment with the gateway's key.
 */
export class AuditCheckpointer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly key: SigningKey,
    private readonly intervalMs: number,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.checkpoint(), this.intervalMs);
    this.timer.unref();
  }

  /** Signs the current head unless it already is a checkpoint (one run at a time). */
  checkpoint(): Promise<void> {
    const next = this.running.then(async () => {
      try {
        await this.audit.settle();
        const head = await this.store.auditHead();
        if (head === undefined) return;
        const [row] = await this.store.readAuditChain({ afterSeq: head.seq - 1, limit: 1 });
        if (row?.type === AuditEventType.checkpoint) return;
        const jws = await signAuditHead(this.key, head);
        await this.audit.record(checkpointEvent(head, this.key.kid, jws));
      } catch (error) {
        this.log(`audit checkpoint failed: ${String(error)}`);
      }
    });
    this.running = next;
    return next;
  }

  /** Stops the timer and writes the final checkpoint. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.checkpoint();
  }
}
