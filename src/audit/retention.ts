import type { AuditRecord, RetentionCutoffs, RetentionStep, Store } from "../store/index.ts";
import { AuditEventType, BOOKKEEPING_TYPE_PREFIX, gatewayEvent } from "./audit-event.ts";

/** How long events are kept, in seconds: per event type, and for every other type. */
export interface RetentionRules {
  readonly byType: Readonly<Record<string, number>>;
  /** Absent: types not listed are kept forever. */
  readonly defaultSeconds?: number;
}

export interface RetentionSummary {
  /** Retention records written (one per store transaction). */
  readonly steps: number;
  readonly redacted: number;
  readonly deleted: number;
}

export function retentionCutoffs(rules: RetentionRules, now: Date): RetentionCutoffs {
  const before = (seconds: number): string => new Date(now.getTime() - seconds * 1000).toISOString();
  const byType: Record<string, string> = {};
  for (const [type, seconds] of Object.entries(rules.byType)) byType[type] = before(seconds);
  return rules.defaultSeconds === undefined ? { byType } : { byType, default: before(rules.defaultSeconds) };
}

/** The `audit.retention_applied` event recording one retention transaction (docs/audit.md#retention). */
export function retentionEvent(step: RetentionStep, cutoffs: RetentionCutoffs): AuditRecord {
  return gatewayEvent(AuditEventType.retentionApplied, {
    cutoffs: {
      by_type: cutoffs.byType,
      ...(cutoffs.default === undefined ? {} : { default: cutoffs.default }),
    },
    redacted: step.redacted && {
      count: step.redacted.count,
      first_seq: step.redacted.firstSeq,
      last_seq: step.redacted.lastSeq,
    },
    deleted: step.deleted && {
      count: step.deleted.count,
      from_seq: step.deleted.fromSeq,
      to_seq: step.deleted.toSeq,
      last_hash: step.deleted.lastHash,
    },
  });
}

/**
 * Applies retention until nothing more is past it, in bounded steps (each one store transaction
 * that also records itself), yielding to the event loop between steps.
 */
export async function applyRetention(
  store: Store,
  rules: RetentionRules,
  options: { now?: Date; maxRowsPerStep?: number } = {},
): Promise<RetentionSummary> {
  const cutoffs = retentionCutoffs(rules, options.now ?? new Date());
  let steps = 0;
  let redacted = 0;
  let deleted = 0;
  for (;;) {
    const step = await store.applyAuditRetention({
      cutoffs,
      keepBodyTypePrefix: BOOKKEEPING_TYPE_PREFIX,
      maxRows: options.maxRowsPerStep ?? 2000,
      record: (s) => retentionEvent(s, cutoffs),
    });
    if (step === undefined) return { steps, redacted, deleted };
    steps++;
    redacted += step.redacted?.count ?? 0;
    deleted += step.deleted?.count ?? 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Applies retention now and then every `intervalMs`, one run at a time. */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionSummary | undefined> = Promise.resolve(undefined);
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly rules: RetentionRules,
    private readonly intervalMs: number,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    void this.run();
    this.timer = setInterval(() => void this.run(), this.intervalMs);
    this.timer.unref();
  }

  /** Runs once after any run in progress; `now` moves the clock (tests). */
  run(now?: Date): Promise<RetentionSummary | undefined> {
    const next = this.running.then(async () => {
      if (this.closed) return undefined;
      try {
        const summary = await applyRetention(this.store, this.rules, now ? { now } : {});
        if (summary.steps > 0) {
          this.log(
            `audit retention: removed the bodies of ${summary.redacted} events and deleted ${summary.deleted}`,
          );
        }
        return summary;
      } catch (error) {
        this.log(`audit retention failed (will retry): ${String(error)}`);
        return undefined;
      }
    });
    this.running = next;
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
