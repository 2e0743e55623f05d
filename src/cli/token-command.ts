import type { Command } from "commander";
import { loadConfig, parseDuration } from "../config/index.ts";
import { SluiceError } from "../core/index.ts";
import { loadOrCreateSigningKey, TokenIssuer } from "../identity/index.ts";
import { registerTokenGet } from "./login-command.ts";
import { registerTokenExchange } from "./service-account-command.ts";

interface IssueOptions {
  config: string;
  user: string;
  groups: string;
  ttl?: string;
  kind: "human" | "service" | "agent";
  onBehalfOf?: string;
  onBehalfOfGroups?: string;
}

const list = (value: string | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);

export function registerTokenCommands(program: Command): void {
  const token = program.command("token").description("gateway tokens (break-glass and tests)");
  registerTokenGet(token);
  registerTokenExchange(token);
  token
    .command("issue")
    .description("sign a short-lived gateway token and print it alone on stdout")
    .requiredOption("-c, --config <file>", "configuration file", "sluice.yaml")
    .requiredOption("--user <user>", "the subject, e.g. alice@corp.example")
    .option("--groups <groups>", "comma-separated groups", "")
    .option("--ttl <duration>", "lifetime such as 10m (capped by tokens.max_ttl)")
    .option("--kind <kind>", "human | service | agent", "human")
    .option("--on-behalf-of <user>", "for agents: the human the agent acts for")
    .option("--on-behalf-of-groups <groups>", "that human's groups, comma-separated")
    .action(async (options: IssueOptions) => {
      if (!["human", "service", "agent"].includes(options.kind)) {
        throw new SluiceError("SLUICE_CLI_USAGE", `--kind must be human, service or agent`);
      }
      if (options.onBehalfOf !== undefined && options.kind !== "agent") {
        throw new SluiceError("SLUICE_CLI_USAGE", "--on-behalf-of is for agent tokens: add --kind agent");
      }
      const ttlSeconds = options.ttl === undefined ? undefined : parseDuration(options.ttl);
      if (ttlSeconds === undefined && options.ttl !== undefined) {
        throw new SluiceError("SLUICE_CLI_USAGE", `--ttl: "${options.ttl}" is not a duration like 10m`);
      }
      const config = await loadConfig(options.config, { skipSecrets: true });
      const issuer = new TokenIssuer(await loadOrCreateSigningKey(config.signingKey.path), config.tokens);
      const jwt = await issuer.issue({
        user: options.user,
        groups: list(options.groups),
        kind: options.kind,
        ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
        ...(options.onBehalfOf
          ? { onBehalfOf: { user: options.onBehalfOf, groups: list(options.onBehalfOfGroups) } }
          : {}),
      });
      process.stdout.write(`${jwt}\n`);
    });
}
