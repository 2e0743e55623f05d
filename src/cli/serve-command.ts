import type { Command } from "commander";
import { startGateway } from "../app/index.ts";
import { loadConfig } from "../config/index.ts";

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the gateway")
    .requiredOption("-c, --config <file>", "configuration file", "sluice.yaml")
    .action(async (options: { config: string }) => {
      const config = await loadConfig(options.config);
      const gateway = await startGateway(config);
      process.stderr.write(
        `sluice: listening: postgres ${gateway.postgres.host}:${gateway.postgres.port}, http ${gateway.http.host}:${gateway.http.port}; policy ${gateway.policyVersion()}\n`,
      );
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
