import type { Command } from "commander";
import { loadConfig, parseDuration } from "../config/index.ts";
import { SluiceError } from "../core/index.ts";
import { openStore, type StoredAuditRecord } from "../store/index.ts";
import { formatAuditLine } from "./format-audit.ts";

interface SearchOptions {
  config: string;
  user?: string;
  connection?: string;
  decision?: string;
  since?: string;
  limit: string;
  json?: boolean;
}

/** `--since` takes a duration back from now (`7d`) or an ISO timestamp. */
export function parseSince(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value);
  if (seconds !== undefined) return new Date(Date.now() - seconds * 1000);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new SluiceError(
      "SLUICE_CLI_USAGE",
      `--since: "${value}" is neither a duration like 7d nor a timestamp`,
    );
  }
  return date;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command("audit").description("the audit trail");
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
