/** `sluice policy check | test | explain | replay`: policy as code tooling. */
import type { Command } from "commander";
import { loadConfig } from "../config/index.ts";
import { type ConnectionInfo, type PrincipalKind, SluiceError } from "../core/index.ts";
import {
  explainCommands,
  explanationJson,
  formatDiagnostic,
  loadPolicyBundle,
  type PolicyBundle,
  PolicyError,
  type PolicyOptions,
  runPolicyTests,
  SettableClock,
} from "../policy/index.ts";
import { openStore, type StoredAuditRecord } from "../store/index.ts";
import { createAnalysers } from "./analysers.ts";
import { formatExplanation, formatTestReport, plural } from "./policy-output.ts";
import { formatReplay, replayJson, replayRecords } from "./policy-replay.ts";
import { parseSince } from "./time-option.ts";

const usage = (message: string) => new SluiceError("SLUICE_CLI_USAGE", message);

const list = (value: string | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);

/** `env=prod,team=data` → `{env: "prod", team: "data"}`. */
export function parseLabels(value: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of list(value)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw usage(`--labels: "${pair}" is not key=value`);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

function parseTime(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw usage(`--time: "${value}" is not an ISO timestamp`);
  return date;
}

/** Loads the bundle; an invalid one is printed (one diagnostic a line) and ends with exit 1. */
async function loadOrReport(dir: string, options: PolicyOptions): Promise<PolicyBundle | undefined> {
  try {
    return await loadPolicyBundle(dir, options);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    reportInvalid(error);
    return undefined;
  }
}

function reportInvalid(error: PolicyError): void {
  const n = error.diagnostics.length;
  process.stderr.write(
    `${error.diagnostics.map(formatDiagnostic).join("\n")}\n${n === 1 ? "1 problem" : `${n} problems`}: the policy bundle is invalid\n`,
  );
  process.exitCode = 1;
}

const timeZoneOption = (zone: string | undefined) => (zone === undefined ? {} : { timeZone: zone });

interface ExplainOptions {
  user: string;
  groups?: string;
  kind: string;
  onBehalfOf?: string;
  onBehalfOfGroups?: string;
  connection: string;
  labels?: string;
  protocol?: string;
  config?: string;
  time?: string;
  timeZone?: string;
  json?: boolean;
}

interface ReplayOptions {
  config: string;
  since: string;
  limit: string;
  json?: boolean;
}

export function registerPolicyCommands(program: Command): void {
  const policy = program.command("policy").description("policy as code: check, test, explain, replay");

  policy
    .command("check")
    .description("lint and type-check a policy directory")
    .argument("<dir>", "policy directory")
    .option("--time-zone <zone>", "IANA time zone for time.* facts", "UTC")
    .action(async (dir: string, options: { timeZone: string }) => {
      const bundle = await loadOrReport(dir, { timeZone: options.timeZone });
      if (bundle === undefined) return;
      const files = new Set(bundle.rules.map((r) => r.file)).size;
      const git = bundle.gitCommit === undefined ? "" : ` (git ${bundle.gitCommit})`;
      process.stdout.write(
        `ok: ${plural(bundle.rules.length, "rule")} in ${plural(files, "file")}, bundle ${bundle.version}${git}\n`,
      );
    });

  policy
    .command("test")
    .description("run the *.test.yaml files next to the policies")
    .argument("<dir>", "policy directory")
    .option("--coverage", "list the rules no test exercised")
    .option("--time-zone <zone>", "IANA time zone for time.* facts", "UTC")
    .action(async (dir: string, options: { coverage?: boolean; timeZone: string }) => {
      let report: Awaited<ReturnType<typeof runPolicyTests>>;
      try {
        report = await runPolicyTests(dir, {
          analysers: await createAnalysers(),
          timeZone: options.timeZone,
        });
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        reportInvalid(error);
        return;
      }
      process.stdout.write(formatTestReport(dir, report, options.coverage === true));
      if (report.failed > 0 || report.files.length === 0) process.exitCode = 1;
    });

  policy
    .command("explain")
    .description("show how the policy decides one command: facts, every rule, the decision")
    .argument("<dir>", "policy directory")
    .argument("<command...>", 'the command, after "--"')
    .requiredOption("--user <user>", "the principal, e.g. alice@corp.example")
    .option("--groups <groups>", "comma-separated groups", "")
    .option("--kind <kind>", "human | service | agent", "human")
    .option("--on-behalf-of <user>", "for agents: the human the agent acts for")
    .option("--on-behalf-of-groups <groups>", "that human's groups, comma-separated")
    .requiredOption("--connection <name>", "connection name")
    .option("--labels <labels>", "connection labels, e.g. env=prod,team=data (default: from -c)")
    .option("--protocol <protocol>", "connection protocol (default: from -c, else postgres)")
    .option("-c, --config <file>", "take the connection's protocol and labels, and the time zone, from here")
    .option("--time <iso>", "instant for time.* facts (default: now)")
    .option("--time-zone <zone>", "IANA time zone for time.* facts (default: from -c, else UTC)")
    .option("--json", "machine-readable output")
    .action(async (dir: string, words: string[], options: ExplainOptions) => {
      if (!["human", "service", "agent"].includes(options.kind))
        throw usage("--kind must be human, service or agent");
      const text = words.join(" ");
      let connection: ConnectionInfo = {
        name: options.connection,
        protocol: options.protocol ?? "postgres",
        labels: options.labels === undefined ? {} : parseLabels(options.labels),
      };
      let timeZone = options.timeZone;
      if (options.config !== undefined) {
        const config = await loadConfig(options.config, { skipSecrets: true });
        const configured = config.connections.find((c) => c.name === options.connection);
        if (configured === undefined) {
          throw usage(`${options.config} has no connection named "${options.connection}"`);
        }
        connection = {
          name: configured.name,
          protocol: options.protocol ?? configured.protocol,
          labels: options.labels === undefined ? configured.labels : parseLabels(options.labels),
        };
        timeZone ??= config.policy.timeZone;
      }
      const clock = new SettableClock();
      clock.set(parseTime(options.time));
      const bundle = await loadOrReport(dir, { clock: clock.read, ...timeZoneOption(timeZone) });
      if (bundle === undefined) return;
      const analyser = (await createAnalysers()).find((a) => a.protocol === connection.protocol);
      if (analyser === undefined) throw usage(`no analyser for protocol ${connection.protocol}`);
      const commands = analyser.analyse(text);
      if (commands.length === 0) throw usage("the command has no statements");
      const identity = {
        user: options.user,
        groups: list(options.groups),
        kind: options.kind as PrincipalKind,
        ...(options.onBehalfOf === undefined
          ? {}
          : { onBehalfOf: { user: options.onBehalfOf, groups: list(options.onBehalfOfGroups) } }),
      };
      const { statements, outcome } = explainCommands(
        bundle,
        identity,
        connection,
        commands,
        "policy-explain",
      );
      if (options.json !== true) {
        process.stdout.write(formatExplanation(dir, bundle, statements, outcome));
        return;
      }
      const json = {
        policy: {
          dir,
          version: bundle.version,
          ...(bundle.gitCommit === undefined ? {} : { git_commit: bundle.gitCommit }),
          rules: bundle.rules.length,
        },
        ...explanationJson(statements, outcome),
      };
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    });

  policy
    .command("replay")
    .description("decide recorded actions again under a candidate policy and show what would change")
    .argument("<candidate-dir>", "candidate policy directory")
    .requiredOption("-c, --config <file>", "configuration file (audit store, time zone)", "sluice.yaml")
    .option("--since <when>", "a duration back from now (7d, 1h) or an ISO timestamp", "7d")
    .option("--limit <n>", "replay at most the N most recent actions", "10000")
    .option("--json", "machine-readable output")
    .action(async (dir: string, options: ReplayOptions) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw usage("--limit must be a positive integer");
      const since = parseSince(options.since);
      const config = await loadConfig(options.config, { skipSecrets: true });
      const clock = new SettableClock();
      const bundle = await loadOrReport(dir, { clock: clock.read, timeZone: config.policy.timeZone });
      if (bundle === undefined) return;
      const store = openStore(config.store);
      let records: StoredAuditRecord[];
      try {
        const query = { ...(since === undefined ? {} : { since }), limit };
        const [allowed, denied] = await Promise.all([
          store.searchAudit({ ...query, type: "action.allowed" }),
          store.searchAudit({ ...query, type: "action.denied" }),
        ]);
        records = [...allowed, ...denied].sort((a, b) => a.seq - b.seq).slice(-limit);
      } finally {
        await store.close();
      }
      const report = replayRecords(bundle, clock, records);
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(replayJson(report), null, 2)}\n`);
        return;
      }
      const scope = since === undefined ? "all" : `since ${since.toISOString()}`;
      process.stdout.write(formatReplay(report, `${scope}, at most ${limit}`));
    });
}
