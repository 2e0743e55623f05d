import { existsSync } from "node:fs";
import type { Command } from "commander";
import { loadConfig, RECORDINGS_DEFAULTS, type SluiceConfig } from "../config/index.ts";
import { SluiceError } from "../core/index.ts";
import { verifyRecordingSeal } from "../identity/index.ts";
import {
  asciicastEvents,
  asciicastHeader,
  asciicastLine,
  type Chunk,
  describeStatus,
  escapeText,
  FileRecordingStore,
  isTerminalSession,
  isValidSessionId,
  PostgresRecordingStore,
  type RecordingContents,
  type RecordingEntry,
  RecordingReader,
  type RecordingReport,
  type RecordingStore,
  type RecordingSummary,
  readRecording,
  renderChunk,
  renderHeader,
  type SealSignatureCheck,
  type StartEvent,
  summarize,
  toLine,
  verifyRecording,
} from "../recording/index.ts";
import { PostgresStore } from "../store/index.ts";
import { gatewayPublicKeys } from "./gateway-keys.ts";
import { parseWhen } from "./time-option.ts";

interface SourceOptions {
  config: string;
  dir?: string;
}

interface ListOptions extends SourceOptions {
  user?: string;
  connection?: string;
  since?: string;
  until?: string;
  json?: boolean;
}

interface ReplayOptions extends SourceOptions {
  format: string;
  follow?: boolean;
  verify?: boolean;
  interval: string;
}

/** Exit codes of `sessions verify` and `replay --verify`. */
const EXIT_BROKEN = 1;
const EXIT_INCOMPLETE = 2;

interface Source {
  readonly store: RecordingStore;
  readonly verifySeal: ((jws: string) => Promise<SealSignatureCheck>) | undefined;
  /** Releases the store's connections (a PostgreSQL store). */
  close(): Promise<void>;
}

/**
 * Where the recordings are (`--dir`; else the configuration's `recordings.storage`: the
 * `recordings.dir` directory or the PostgreSQL store) and a seal checker from the configuration's
 * signing key (none when there is no configuration or no key file).
 */
async function openSource(options: SourceOptions): Promise<Source> {
  const config: SluiceConfig | undefined =
    options.dir !== undefined && !existsSync(options.config)
      ? undefined
      : await loadConfig(options.config, { skipSecrets: true });
  const verifySeal = config && (await sealChecker(config));
  if (
    options.dir === undefined &&
    config?.recordings.storage === "store" &&
    config.store.kind === "postgres"
  ) {
    // The password comes from PGPASSWORD or the password file, as for the gateway.
    const postgres = new PostgresStore({ url: config.store.url, log: () => {} });
    return {
      store: new PostgresRecordingStore({ store: postgres, url: config.store.url }),
      verifySeal,
      close: () => postgres.close(),
    };
  }
  const dir = options.dir ?? config?.recordings.dir ?? RECORDINGS_DEFAULTS.dir;
  return { store: new FileRecordingStore({ dir, fsync: false }), verifySeal, close: async () => {} };
}

/** Runs `work` on the source, then closes it. */
async function withSource<T>(options: SourceOptions, work: (source: Source) => Promise<T>): Promise<T> {
  const source = await openSource(options);
  try {
    return await work(source);
  } finally {
    await source.close();
  }
}

async function sealChecker(
  config: SluiceConfig,
): Promise<((jws: string) => Promise<SealSignatureCheck>) | undefined> {
  const keys = await gatewayPublicKeys(config);
  if (keys === undefined) return undefined;
  return async (jws) => {
    const result = await verifyRecordingSeal(jws, keys);
    return result.ok ? { ok: true, seal: result.seal } : result;
  };
}

function checkId(id: string): string {
  if (!isValidSessionId(id))
    throw new SluiceError("SLUICE_CLI_USAGE", `not a session id: ${JSON.stringify(id)}`);
  return id;
}

async function readContents(source: Source, id: string): Promise<RecordingContents> {
  let bytes: Buffer;
  try {
    bytes = await source.store.read(checkId(id));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new SluiceError("SLUICE_CLI_USAGE", `no recording of session ${id} in ${source.store.location}`);
    }
    throw error;
  }
  return readRecording(bytes);
}

/** Writes to stdout, waiting when the pipe is full. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text))
    await new Promise<void>((resolve) => process.stdout.once("drain", resolve));
}

function exitCodeOf(report: RecordingReport): number {
  if (report.status === "broken") return EXIT_BROKEN;
  if (report.status === "unsealed" || report.seal?.signature !== "verified") return EXIT_INCOMPLETE;
  return 0;
}

function describeReport(report: RecordingReport): string {
  const lines = report.problems.map((p) => `${p.kind}: ${escapeText(p.message)}`);
  lines.push(`recording ${report.sessionId}: ${escapeText(describeStatus(report))}`);
  if (report.lastHash !== null) lines.push(`last hash: ${report.lastHash}`);
  return `${lines.join("\n")}\n`;
}

function statusText(summary: RecordingSummary): string {
  if (summary.status === "broken") return "BROKEN";
  if (summary.status === "unsealed") return "unsealed (gateway stopped?)";
  return summary.seal === "verified" ? "sealed, verified" : "sealed, seal unchecked";
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ")}`.trimEnd()).join("\n");
}

export function registerSessionsCommands(program: Command): void {
  const sessions = program
    .command("sessions")
    .description("session recordings: list (the default) and verify");
  sessions
    .command("list", { isDefault: true })
    .description("list session recordings, oldest first (each is verified: sealed, unsealed or broken)")
    .option(
      "-c, --config <file>",
      "configuration file (recordings.storage and dir, store, signing key)",
      "sluice.yaml",
    )
    .option("--dir <path>", "the recordings directory (instead of the configuration's recordings.dir)")
    .option("--user <user>", "only this principal")
    .option("--connection <name>", "only this connection")
    .option("--since <when>", "started at or after: a duration back from now (7d, 1h) or an ISO timestamp")
    .option("--until <when>", "started at or before: a duration back from now or an ISO timestamp")
    .option("--json", "one JSON object per line")
    .action(async (options: ListOptions) => {
      const since = parseWhen("--since", options.since);
      const until = parseWhen("--until", options.until);
      await withSource(options, async (source) => {
        const summaries: RecordingSummary[] = [];
        for (const id of await source.store.list()) {
          const contents = readRecording(await source.store.read(id));
          const report = await verifyRecording(
            id,
            contents,
            source.verifySeal ? { verifySeal: source.verifySeal } : {},
          );
          const summary = summarize(contents, report);
          if (options.user !== undefined && summary.user !== options.user) continue;
          if (options.connection !== undefined && summary.connection !== options.connection) continue;
          const started = summary.startedAt === null ? Number.NaN : Date.parse(summary.startedAt);
          if (since !== undefined && !(started >= since.getTime())) continue;
          if (until !== undefined && !(started <= until.getTime())) continue;
          summaries.push(summary);
        }
        summaries.sort(
          (a, b) => (a.startedAt ?? "").localeCompare(b.startedAt ?? "") || a.id.localeCompare(b.id),
        );
        if (options.json) {
          await write(summaries.map((s) => `${JSON.stringify(s)}\n`).join(""));
          return;
        }
        if (summaries.length === 0) {
          await write(`no recordings in ${escapeText(source.store.location)}\n`);
          return;
        }
        const rows = [
          ["ID", "USER", "CONNECTION", "START", "END", "STATEMENTS", "STATUS"],
          ...summaries.map((s) => [
            s.id,
            escapeText(s.user ?? "-"),
            escapeText(s.connection ?? "-"),
            escapeText(s.startedAt ?? "-"),
            escapeText(s.endedAt ?? "-"),
            String(s.statements),
            statusText(s),
          ]),
        ];
        await write(`${table(rows)}\n`);
      });
    });

  sessions
    .command("verify <id>")
    .description(
      "prove a recording complete and unaltered: exit 0 sealed and verified, 1 tampered, 2 unsealed or seal unchecked",
    )
    .option(
      "-c, --config <file>",
      "configuration file (recordings.storage and dir, store, signing key)",
      "sluice.yaml",
    )
    .option("--dir <path>", "the recordings directory (instead of the configuration's recordings.dir)")
    .option("--json", "the report as one JSON object")
    .action(async (id: string, options: SourceOptions & { json?: boolean }) => {
      await withSource(options, async (source) => {
        const contents = await readContents(source, id);
        const report = await verifyRecording(
          id,
          contents,
          source.verifySeal ? { verifySeal: source.verifySeal } : {},
        );
        await write(options.json ? `${JSON.stringify(report)}\n` : describeReport(report));
        process.exitCode = exitCodeOf(report);
      });
    });

  program
    .command("replay <id>")
    .description("print a session recording as a timeline (text), asciicast v2 or JSON lines")
    .option(
      "-c, --config <file>",
      "configuration file (recordings.storage and dir, store, signing key)",
      "sluice.yaml",
    )
    .option("--dir <path>", "the recordings directory (instead of the configuration's recordings.dir)")
    .option("--format <format>", "text | asciicast | json", "text")
    .option("--follow", "keep printing a live recording until it is sealed")
    .option("--verify", "verify the recording after printing it (exit codes as `sessions verify`)")
    .option("--interval <ms>", "how often --follow looks for new chunks", "250")
    .action(async (id: string, options: ReplayOptions) => {
      if (!["text", "asciicast", "json"].includes(options.format)) {
        throw new SluiceError(
          "SLUICE_CLI_USAGE",
          `--format: "${options.format}" is not supported (text, asciicast, json)`,
        );
      }
      const interval = Number(options.interval);
      if (!Number.isInteger(interval) || interval < 10) {
        throw new SluiceError(
          "SLUICE_CLI_USAGE",
          "--interval must be a whole number of milliseconds, at least 10",
        );
      }
      await withSource(options, async (source) => {
        await readContents(source, id);
        const printer = new ReplayPrinter(id, options.format as ReplayFormat);
        const reader = new RecordingReader();
        const entries: RecordingEntry[] = [];
        let sealed = false;
        for (;;) {
          const fresh = reader.push(await source.store.read(id, reader.consumed + pendingBytes(reader)));
          entries.push(...fresh);
          await write(printer.print(fresh));
          sealed = entries.some((e) => e.kind === "seal");
          if (!options.follow || sealed) break;
          await new Promise((resolve) => setTimeout(resolve, interval));
        }
        const contents: RecordingContents = { entries, tornTail: reader.tail() };
        const report = await verifyRecording(
          id,
          contents,
          source.verifySeal ? { verifySeal: source.verifySeal } : {},
        );
        if (options.format === "text") await write(`-- ${escapeText(describeStatus(report))}\n`);
        if (options.verify) {
          process.stderr.write(describeReport(report));
          process.exitCode = exitCodeOf(report);
        }
      });
    });
}

/** Bytes the reader holds of an unfinished line (already read from the file). */
function pendingBytes(reader: RecordingReader): number {
  return reader.tail()?.bytes ?? 0;
}

type ReplayFormat = "text" | "asciicast" | "json";

/** Prints entries as they arrive (the same output whether followed live or read at once). */
class ReplayPrinter {
  private start: StartEvent | undefined;
  private startedAt = Number.NaN;
  private headerDone = false;

  constructor(
    private readonly id: string,
    private readonly format: ReplayFormat,
  ) {}

  print(entries: readonly RecordingEntry[]): string {
    let out = "";
    for (const entry of entries) {
      if (entry.kind === "seal") {
        if (this.format === "json") out += toLine({ seal: entry.seal });
        continue;
      }
      if (entry.kind === "malformed") {
        if (this.format === "text") out += `?? line ${entry.line}: ${escapeText(entry.reason)}\n`;
        continue;
      }
      out += this.chunk(entry.chunk);
    }
    return out;
  }

  private chunk(chunk: Chunk): string {
    if (!this.headerDone && chunk.event.type === "start") {
      this.start = chunk.event;
      this.startedAt = Date.parse(chunk.event.started_at);
    }
    switch (this.format) {
      case "json":
        return toLine(chunk);
      case "text": {
        let out = "";
        if (!this.headerDone) {
          this.headerDone = true;
          out += `${renderHeader(this.id, this.start).join("\n")}\n`;
        }
        return `${out}${renderChunk(chunk, this.startedAt).join("\n")}\n`;
      }
      case "asciicast": {
        let out = "";
        if (!this.headerDone) {
          this.headerDone = true;
          out += asciicastHeader(this.id, this.start);
        }
        const events = asciicastEvents(chunk, isTerminalSession(this.start), this.startedAt, this.id);
        return out + events.map(asciicastLine).join("");
      }
    }
  }
}
