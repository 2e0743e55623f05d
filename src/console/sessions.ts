import {
  asciicastEvents,
  asciicastHeader,
  asciicastLine,
  chunksOf,
  isTerminalSession,
  isValidSessionId,
  type RecordingContents,
  type RecordingStore,
  type RecordingSummary,
  readRecording,
  type SealSignatureCheck,
  type StartEvent,
  startOf,
  summarize,
  verifyRecording,
} from "../recording/index.ts";

/** A recording's summary with what the console shows and filters on. */
export interface SessionListing extends RecordingSummary {
  readonly onBehalfOf: string | null;
  readonly terminal: boolean;
}

export interface SessionFilter {
  /** Only sessions of this user (or acting for them). */
  readonly user?: string;
  readonly connection?: string;
  readonly since?: Date;
  readonly until?: Date;
  /** `sealed`, `unsealed` or `broken`. */
  readonly status?: string;
  readonly limit: number;
}

/** One entry of the replay timeline (the recording's events, as the client saw them). */
export type TimelineEntry =
  | {
      readonly type: "statement";
      readonly t: number;
      readonly text: string;
      readonly effect: string;
      readonly reason: string;
      readonly rule_ids: readonly string[];
    }
  | {
      readonly type: "result";
      readonly t: number;
      readonly columns: readonly string[] | null;
      readonly rows: readonly (readonly (string | null)[])[];
      readonly rows_omitted: number;
      readonly command_tag: string | null;
      readonly error: { readonly code: string; readonly message: string } | null;
      readonly duration_ms: number;
    }
  | { readonly type: "truncated"; readonly t: number; readonly reason: string; readonly limit: number }
  | { readonly type: "end"; readonly t: number; readonly reason: string; readonly ended_at: string }
  | { readonly type: "terminal"; readonly t: number; readonly bytes: number };

/**
 * Reads, verifies and summarizes recordings for the console. Sealed recordings never change, so
 * their summaries are kept; live ones are read again at every listing.
 */
export class SessionCatalog {
  readonly #store: RecordingStore;
  readonly #verifySeal: ((jws: string) => Promise<SealSignatureCheck>) | undefined;
  readonly #sealed = new Map<string, SessionListing>();

  constructor(store: RecordingStore, verifySeal?: (jws: string) => Promise<SealSignatureCheck>) {
    this.#store = store;
    this.#verifySeal = verifySeal;
  }

  /** Newest first, at most `filter.limit`. */
  async list(filter: SessionFilter): Promise<SessionListing[]> {
    const found: SessionListing[] = [];
    for (const id of await this.#store.list()) {
      const listing = await this.#listing(id).catch(() => undefined);
      if (listing === undefined || !matches(listing, filter)) continue;
      found.push(listing);
    }
    found.sort((a, b) => (b.startedAt ?? "").localeCompare(a.startedAt ?? "") || b.id.localeCompare(a.id));
    return found.slice(0, filter.limit);
  }

  /** One recording: its summary, who it belongs to and its timeline; undefined when unknown. */
  async get(id: string): Promise<{ listing: SessionListing; timeline: TimelineEntry[] } | undefined> {
    const contents = await this.#read(id);
    if (contents === undefined) return undefined;
    const listing = await this.#summarize(id, contents);
    return { listing, timeline: timelineOf(contents) };
  }

  /** The recording as asciicast v2 (terminal data for terminal sessions, else the text timeline). */
  async asciicast(id: string): Promise<string | undefined> {
    const contents = await this.#read(id);
    if (contents === undefined) return undefined;
    const start = startOf(contents);
    const terminal = isTerminalSession(start);
    const startedAt = start === undefined ? Number.NaN : Date.parse(start.started_at);
    let out = asciicastHeader(id, start);
    for (const chunk of chunksOf(contents)) {
      for (const event of asciicastEvents(chunk, terminal, startedAt, id)) out += asciicastLine(event);
    }
    return out;
  }

  async #listing(id: string): Promise<SessionListing | undefined> {
    const cached = this.#sealed.get(id);
    if (cached !== undefined) return cached;
    const contents = await this.#read(id);
    return contents === undefined ? undefined : this.#summarize(id, contents);
  }

  async #read(id: string): Promise<RecordingContents | undefined> {
    if (!isValidSessionId(id)) return undefined;
    try {
      return readRecording(await this.#store.read(id));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async #summarize(id: string, contents: RecordingContents): Promise<SessionListing> {
    const report = await verifyRecording(
      id,
      contents,
      this.#verifySeal ? { verifySeal: this.#verifySeal } : {},
    );
    const start: StartEvent | undefined = startOf(contents);
    const listing: SessionListing = {
      ...summarize(contents, report),
      onBehalfOf: typeof start?.on_behalf_of === "string" ? start.on_behalf_of : null,
      terminal: isTerminalSession(start),
    };
    if (listing.status === "sealed") this.#sealed.set(id, listing);
    return listing;
  }
}

function matches(s: SessionListing, filter: SessionFilter): boolean {
  if (filter.user !== undefined && s.user !== filter.user && s.onBehalfOf !== filter.user) return false;
  if (filter.connection !== undefined && s.connection !== filter.connection) return false;
  if (filter.status !== undefined && s.status !== filter.status) return false;
  const started = s.startedAt === null ? Number.NaN : Date.parse(s.startedAt);
  if (filter.since !== undefined && !(started >= filter.since.getTime())) return false;
  if (filter.until !== undefined && !(started <= filter.until.getTime())) return false;
  return true;
}

const text = (value: unknown): string => (typeof value === "string" ? value : "");

/** The events the replay page shows; terminal data only as a count (the player shows it). */
function timelineOf(contents: RecordingContents): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const chunk of chunksOf(contents)) {
    const e = chunk.event;
    const t = chunk.t;
    switch (e.type) {
      case "statement":
        entries.push({
          type: "statement",
          t,
          text: text(e.text),
          effect: text(e.effect),
          reason: text(e.reason),
          rule_ids: Array.isArray(e.rule_ids) ? e.rule_ids.map(String) : [],
        });
        break;
      case "result":
        entries.push({
          type: "result",
          t,
          columns: Array.isArray(e.columns) ? e.columns.map(String) : null,
          rows: Array.isArray(e.rows)
            ? e.rows.map((row) => (Array.isArray(row) ? row.map((c) => (c === null ? null : String(c))) : []))
            : [],
          rows_omitted: Number(e.rows_omitted) || 0,
          command_tag: typeof e.command_tag === "string" ? e.command_tag : null,
          error:
            e.error !== null && typeof e.error === "object"
              ? { code: text(e.error.code), message: text(e.error.message) }
              : null,
          duration_ms: Number(e.duration_ms) || 0,
        });
        break;
      case "truncated":
        entries.push({ type: "truncated", t, reason: text(e.reason), limit: Number(e.limit) || 0 });
        break;
      case "end":
        entries.push({ type: "end", t, reason: text(e.reason), ended_at: text(e.ended_at) });
        break;
      case "output":
      case "input": {
        const last = entries.at(-1);
        const bytes = Buffer.byteLength(text(e.data));
        if (last?.type === "terminal") entries[entries.length - 1] = { ...last, bytes: last.bytes + bytes };
        else entries.push({ type: "terminal", t, bytes });
        break;
      }
      default:
        break;
    }
  }
  return entries;
}
