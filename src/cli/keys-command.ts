import { relative } from "node:path";
import type { Command } from "commander";
import { formatDuration, loadConfig } from "../config/index.ts";
import { rotateSigningKey } from "../identity/index.ts";

/** `sluice keys rotate`: a new signing key, the old one kept for verification. */
export function registerKeyCommands(program: Command): void {
  const keys = program.command("keys").description("the gateway's signing key");
  keys
    .command("rotate")
    .description(
      "replace the signing key; the old one is kept beside it for previous_signing_keys until what it signed expires",
    )
    .option("-c, --config <file>", "configuration file", "sluice.yaml")
    .action(async (options: { config: string }) => {
      const config = await loadConfig(options.config, { skipSecrets: true });
      const { retiredKid, retiredPath, kid } = await rotateSigningKey(config.signingKey.path);
      const shown = relative(process.cwd(), retiredPath) || retiredPath;
      process.stdout.write(
        [
          `new signing key ${kid}`,
          `old key ${retiredKid} kept in ${shown}`,
          "",
          "Until every token it signed has expired (tokens.max_ttl is",
          `${formatDuration(config.tokens.maxTtlSeconds)}), list it in the configuration so they stay valid, then restart the gateway:`,
          "",
          `previous_signing_keys: [file:${shown}]`,
          "",
          "Remove it afterwards; audit checkpoints and recording seals it signed then show as unchecked.",
          "",
        ].join("\n"),
      );
    });
}
