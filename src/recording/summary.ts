import type { StartEvent } from "./events.ts";
import type { RecordingContents } from "./recording-file.ts";
import { describeStatus, type RecordingReport, type RecordingStatus } from "./verify-recording.ts";

/** One line of `sluice sessions`. */
export interface RecordingSummary {
  readonly id: string;
  readonly user: string | null;
  readonly connection: string | null;
  readonly protocol: string | null;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly endReason: string | null;
  readonly statements: number;
  readonly chunks: number;
  readonly status: RecordingStatus;
  /** `verified`, `unchecked` (no key) or `bad`; null when unsealed. */
  readonly seal: "verified" | "unchecked" | "bad" | null;
  readonly description: string;
}

export function startOf(contents: RecordingContents): StartEvent | undefined {
  const first = contents.entries[0];
  return first?.kind === "chunk" && first.chunk.event.type === "start" ? first.chunk.event : undefined;
}

const str = (value: unknown): string | null => (typeof value === "string" ? value : null);

export function summarize(contents: RecordingContents, report: RecordingReport): RecordingSummary {
  const start = startOf(contents);
  let statements = 0;
  let endedAt: string | null = null;
  let endReason: string | null = null;
  for (const entry of contents.entries) {
    if (entry.kind !== "chunk") continue;
    const event = entry.chunk.event;
    if (event.type === "statement") statements++;
    if (event.type === "end") {
      endedAt = str(event.ended_at);
      endReason = str(event.reason);
    }
  }
  return {
    id: report.sessionId,
    user: str(start?.user),
    connection: str(start?.connection),
    protocol: str(start?.protocol),
    startedAt: str(start?.started_at),
    endedAt,
    endReason,
    statements,
    chunks: report.chunks,
    status: report.status,
    seal: report.seal?.signature ?? null,
    description: describeStatus(report),
  };
}
