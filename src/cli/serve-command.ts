import type { Command } from "commander";
import { startGateway } from "../app/index.ts";
import { loadConfig } from "../config/index.ts";

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the gateway (SIGHUP reloads the policy)")
    .requiredOption("-c, --config <file>", "configuration file", "sluice.yaml")
    .option(
      "--no-watch",
      "do not reload the policy when its files change (SIGHUP and the admin API still do)",
    )
    .action(async (options: { config: string; watch: boolean }) => {
      const config = await loadConfig(options.config);
      const gateway = await startGateway(config, { watchPolicies: options.watch });
      process.stderr.write(
        `sluice: listening: postgres ${gateway.postgres.host}:${gateway.postgres.port}, http ${gateway.http.host}:${gateway.http.port}; policy ${gateway.policyVersion()}\n`,
      );
      // The reloader logs the outcome (and records it in the audit trail).
      process.on("SIGHUP", () => void gateway.reloadPolicy({ trigger: "signal" }));
      const stop = (): void => {
        process.stderr.write("sluice: shutting down\n");
        gateway.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
