import { createReadStream, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import {
  type ChainReport,
  type ChainSource,
  fromJsonLine,
  type SignedHeadCheck,
  storeChainSource,
  toJsonLine,
  verifyChain,
} from "../audit/index.ts";
import { loadConfig, type SluiceConfig } from "../config/index.ts";
import { SluiceError } from "../core/index.ts";
import { verifyAuditHead } from "../identity/index.ts";
import { type ChainHead, openStore, type StoredAuditRecord } from "../store/index.ts";
import { formatAuditLine, printable } from "./format-audit.ts";
import { gatewayPublicKeys } from "./gateway-keys.ts";
import { parseSince } from "./time-option.ts";

interface SearchOptions {
  config: string;
  user?: string;
  connection?: string;
  decision?: string;
  since?: string;
  limit: string;
  json?: boolean;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command("audit").description("the audit trail");
  registerChainCommands(audit);
  audit
    .command("search")
    .description("list audit events, oldest first")
    .requiredOption("-c, --config <file>", "configuration file", "sluice.yaml")
    .option("--user <user>", "only this principal")
    .option("--connection <name>", "only this connection")
    .option("--decision <effect>", "only decisions with this effect: allow | deny")
    .option("--since <when>", "a duration back from now (7d, 1h) or an ISO timestamp")
    .option("--limit <n>", "most recent N events", "100")
    .option("--json", "one JSON object per line")
    .action(async (options: SearchOptions) => {
      const config = await loadConfig(options.config, { skipSecrets: true });
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new SluiceError("SLUICE_CLI_USAGE", "--limit must be a positive integer");
      const store = openStore(config.store);
      let events: StoredAuditRecord[];
      try {
        const since = parseSince(options.since);
        events = await store.searchAudit({
          ...(options.user ? { user: options.user } : {}),
          ...(options.connection ? { connection: options.connection } : {}),
          ...(options.decision ? { effect: options.decision } : {}),
          ...(since ? { since } : {}),
          limit,
        });
      } finally {
        await store.close();
      }
      for (const event of events) {
        process.stdout.write(options.json ? `${JSON.stringify(event)}\n` : `${formatAuditLine(event)}\n`);
      }
    });
}

interface VerifyOptions {
  config: string;
  file?: string;
  expectHead?: string;
  json?: boolean;
}

interface ExportOptions {
  config: string;
  format: string;
  since?: string;
  afterSeq?: string;
}

function parseHead(value: string | undefined): ChainHead | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+):([0-9a-f]{64})$/.exec(value);
  if (!match) {
    throw new SluiceError("SLUICE_CLI_USAGE", "--expect-head: expected <seq>:<hash>, as verify prints it");
  }
  return { seq: Number(match[1]), hash: match[2]! };
}

/**
 * Checks checkpoint signatures with the gateway's public key, read from its signing key file;
 * undefined (checkpoints unchecked) when there is no key file.
 */
async function signatureChecker(
  config: SluiceConfig,
): Promise<((jws: string) => Promise<SignedHeadCheck>) | undefined> {
  const keys = await gatewayPublicKeys(config);
  if (keys === undefined) return undefined;
  return async (jws) => {
    const result = await verifyAuditHead(jws, keys);
    return result.ok ? { ok: true, head: result.head } : result;
  };
}

/** An exported JSON-lines file as a chain source; its first line anchors the chain. */
function fileChainSource(path: string): ChainSource {
  async function* lines(filter?: string): AsyncIterable<ReturnType<typeof fromJsonLine>> {
    const reader = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
    let number = 0;
    for await (const line of reader) {
      number++;
      if (line === "") continue;
      let row: ReturnType<typeof fromJsonLine>;
      try {
        row = fromJsonLine(line);
      } catch (error) {
        throw new SluiceError(
          "SLUICE_CLI_USAGE",
          `${path}:${number}: not an exported event (${String(error)})`,
        );
      }
      if (filter === undefined || row.type === filter) yield row;
    }
  }
  return { rows: () => lines(), retentionRecords: () => lines("audit.retention_applied") };
}

function describeReport(report: ChainReport, source: string): string {
  const lines: string[] = [];
  for (const problem of report.problems) lines.push(printable(problem.message));
  if (report.problemCount > report.problems.length) {
    lines.push(`... and ${report.problemCount - report.problems.length} more`);
  }
  const span = report.firstSeq === null ? "" : `, seq ${report.firstSeq}..${report.head?.seq}`;
  if (!report.ok) {
    lines.push(
      `audit chain BROKEN: ${report.problemCount} problem${report.problemCount === 1 ? "" : "s"} in ${report.events} events${span} (${source})`,
    );
    return `${lines.join("\n")}\n`;
  }
  lines.push(`audit chain OK: ${report.events} events${span} (${source})`);
  if (report.deletedThrough > 0)
    lines.push(`retention: seq 1..${report.deletedThrough} deleted, as recorded`);
  if (report.redacted > 0) lines.push(`retention: ${report.redacted} event bodies removed, as recorded`);
  const { checkpoints } = report;
  if (checkpoints.verified > 0) {
    lines.push(
      `checkpoints: ${checkpoints.verified} signed by the gateway verified, the last at seq ${checkpoints.lastVerifiedSeq}`,
    );
  }
  if (checkpoints.unchecked > 0) {
    lines.push(`checkpoints: ${checkpoints.unchecked} not checked (no key, or signed by another key)`);
  }
  if (report.head) {
    lines.push(`head: ${report.head.seq}:${report.head.hash}`);
    lines.push(
      "(keep the head elsewhere: a later `audit verify --expect-head <head>` proves nothing up to it changed)",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Writes to stdout, waiting when the pipe is full. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text))
    await new Promise<void>((resolve) => process.stdout.once("drain", resolve));
}

export function registerChainCommands(audit: Command): void {
  audit
    .command("verify")
    .description("prove the audit trail is complete and unaltered (exit 1 on any problem)")
    .requiredOption("-c, --config <file>", "configuration file", "sluice.yaml")
    .option("--file <jsonl>", "verify an exported JSON-lines file instead of the store")
    .option("--expect-head <seq:hash>", "a head printed by an earlier verify: it must still be in the chain")
    .option("--json", "the report as one JSON object")
    .action(async (options: VerifyOptions) => {
      const expectHead = parseHead(options.expectHead);
      // An exported file can be checked without a configuration (its checkpoints then go unchecked).
      const config =
        options.file !== undefined && !existsSync(options.config)
          ? undefined
          : await loadConfig(options.config, { skipSecrets: true });
      const verifySignedHead = config && (await signatureChecker(config));
      const verifyOptions = {
        ...(expectHead ? { expectHead } : {}),
        ...(verifySignedHead ? { verifySignedHead } : {}),
      };
      let report: ChainReport;
      let source: string;
      if (options.file !== undefined) {
        source = options.file;
        report = await verifyChain(fileChainSource(options.file), {
          ...verifyOptions,
          anchoredAtFirstRow: true,
        });
      } else if (config === undefined) {
        throw new SluiceError("SLUICE_CLI_USAGE", `${options.config}: no such configuration file`);
      } else {
        source = config.store.kind === "sqlite" ? config.store.path : config.store.url;
        const store = openStore(config.store);
        try {
          report = await verifyChain(storeChainSource(store), verifyOptions);
        } finally {
          await store.close();
        }
      }
      await write(options.json ? `${JSON.stringify(report)}\n` : describeReport(report, source));
      if (!report.ok) process.exitCode = 1;
    });

  audit
    .command("export")
    .description("write audit events with their chain fields, oldest first")
    .requiredOption("-c, --config <file>", "configuration file", "sluice.yaml")
    .option("--format <format>", "jsonl: one JSON object per line", "jsonl")
    .option("--since <when>", "a duration back from now (7d, 1h) or an ISO timestamp")
    .option("--after-seq <n>", "only events after this seq (resume from the last one exported)")
    .action(async (options: ExportOptions) => {
      if (options.format !== "jsonl") {
        throw new SluiceError("SLUICE_CLI_USAGE", `--format: "${options.format}" is not supported (jsonl)`);
      }
      let afterSeq = 0;
      if (options.afterSeq !== undefined) {
        afterSeq = Number(options.afterSeq);
        if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
          throw new SluiceError("SLUICE_CLI_USAGE", "--after-seq must be a whole number");
        }
      }
      const since = parseSince(options.since);
      const config = await loadConfig(options.config, { skipSecrets: true });
      const store = openStore(config.store);
      try {
        for (;;) {
          const page = await store.readAuditChain({ afterSeq, limit: 1000, ...(since ? { since } : {}) });
          if (page.length === 0) break;
          await write(page.map(toJsonLine).join(""));
          afterSeq = page.at(-1)!.seq;
        }
      } finally {
        await store.close();
      }
    });
}
