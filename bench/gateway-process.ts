/**
 * The gateway as its own process for the end-to-end bench: `serve` with an extra switch to
 * accept plaintext password logins on loopback. Usage:
 *   node --import tsx bench/gateway-process.ts <sluice.yaml> [--allow-plaintext]
 * Prints one JSON line `{"port": N}` on stdout when listening; SIGTERM or SIGINT closes it
 * cleanly (so `--cpu-prof` can write its profile on exit).
 */
import { startGateway } from "../src/app/gateway.ts";
import { loadConfig } from "../src/config/index.ts";

const [configPath, ...flags] = process.argv.slice(2);
if (!configPath) {
  process.stderr.write("usage: gateway-process.ts <sluice.yaml> [--allow-plaintext]\n");
  process.exit(2);
}
const config = await loadConfig(configPath);
const gateway = await startGateway(config, {
  allowPlaintext: flags.includes("--allow-plaintext"),
  log: (message) => process.stderr.write(`sluice: ${message}\n`),
});
process.stdout.write(`${JSON.stringify({ port: gateway.postgres.port, policy: gateway.policyVersion() })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  const hardStop = setTimeout(() => process.exit(1), 10_000);
  gateway.close().then(
    () => {
      clearTimeout(hardStop);
      process.exit(0);
    },
    () => process.exit(1),
  );
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
