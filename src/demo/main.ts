/**
 * `npm start`: a demo gateway on embedded defaults, with no external services. Starts a demo
 * database (a private local PostgreSQL server, or PGlite), writes data/demo/sluice.yaml when it
 * is missing, starts the gateway with the example policies, prints ready-to-paste commands and
 * runs until Ctrl-C. NOT FOR PRODUCTION.
 *
 * SLUICE_DEMO_TARGET=pglite forces PGlite; SLUICE_DEMO_TARGET=postgres forbids the fallback.
 */
import { mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type RunningGateway, startGateway } from "../app/index.ts";
import { type DemoConfig, loadDemoConfig, writeDemoConfigIfMissing } from "./demo-config.ts";
import { type DemoDatabase, ensureSecretFile, startDemoDatabase } from "./demo-database.ts";
import { type DemoIdentity, startDemoIdentity } from "./demo-idp.ts";
import { type DemoInstructions, renderInstructions } from "./instructions.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DATA_DIR = join(ROOT, "data");
const CONFIG_PATH = join(DATA_DIR, "demo", "sluice.yaml");
const TOKEN_TTL_SECONDS = 12 * 3600;

const log = (message: string): void => {
  process.stderr.write(`sluice demo: ${message}\n`);
};

/** A path as the user should type it from the current directory. */
function shown(path: string): string {
  return relative(process.cwd(), path) || ".";
}

async function main(): Promise<void> {
  mkdirSync(DATA_DIR, { recursive: true });
  // Listen before anything starts, so an early Ctrl-C still stops what was started.
  const stopped = waitForStopSignal();
  const appPassword = ensureSecretFile(join(DATA_DIR, "demo-app-password"));
  const database = await startDemoDatabase({
    dataDir: DATA_DIR,
    appPassword,
    choice: process.env.SLUICE_DEMO_TARGET,
    log,
  });
  let gateway: RunningGateway | undefined;
  let identity: DemoIdentity | undefined;
  try {
    if (writeDemoConfigIfMissing(CONFIG_PATH, database)) log(`wrote ${shown(CONFIG_PATH)}`);
    const demo: DemoConfig = await loadDemoConfig(CONFIG_PATH, database);
    for (const adjustment of demo.adjustments) log(adjustment);
    identity = await startDemoIdentity(demo.config, log);
    gateway = await startGateway(identity.config, {
      log: (message) => process.stderr.write(`sluice: ${message}\n`),
    });
    process.stdout.write(await instructions(demo, gateway, database));
    const signal = await stopped;
    log(`${signal}: stopping the gateway and the demo database`);
  } finally {
    await gateway?.close();
    await identity?.idp.close();
    await database.stop();
  }
  log("stopped");
}

async function instructions(
  demo: DemoConfig,
  gateway: RunningGateway,
  database: DemoDatabase,
): Promise<string> {
  const ttlSeconds = Math.min(TOKEN_TTL_SECONDS, demo.config.tokens.maxTtlSeconds);
  const token = (user: string, groups: string[]) =>
    gateway.issuer.issue({ user, groups, kind: "human", ttlSeconds });
  const details: DemoInstructions = {
    configPath: shown(CONFIG_PATH),
    changeDirectory: shown(ROOT) === "." ? undefined : shown(ROOT),
    gateway: gateway.postgres,
    http: gateway.http,
    tlsCertPath: shown(gateway.tlsCertPath),
    policiesPath: shown(demo.config.policies),
    policyVersion: gateway.policyVersion(),
    auditStore:
      demo.config.store.kind === "sqlite" ? shown(demo.config.store.path) : "the configured PostgreSQL store",
    database,
    tokenHours: ttlSeconds / 3600,
    aliceToken: await token("alice@corp.example", ["analysts"]),
    bobToken: await token("bob@corp.example", ["engineers"]),
    loginGateway: gateway.publicUrl,
  };
  return renderInstructions(details);
}

/** Resolves with the first SIGINT/SIGTERM/SIGHUP; a second one exits at once. */
function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    const onSignal = (signal: NodeJS.Signals): void => {
      for (const s of signals) process.removeListener(s, onSignal);
      for (const s of signals) {
        process.once(s, () => {
          log(`${s} again: exiting without a clean shutdown`);
          process.exit(130);
        });
      }
      resolve(signal);
    };
    for (const s of signals) process.on(s, onSignal);
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
