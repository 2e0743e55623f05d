/** The demo's configuration file (data/demo/sluice.yaml) and the run-time adjustments to it. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { loadConfig, type SluiceConfig, withHiddenPassword } from "../config/index.ts";
import type { Connection } from "../core/index.ts";
import { isPortFree } from "./ports.ts";

export const DEMO_CONNECTION = "pg-demo";

/**
 * The demo configuration in the documented shape. Relative paths in it are resolved against
 * its own directory (data/demo/), so `../sluice.db` is data/sluice.db.
 */
export function demoConfigText(database: { host: string; port: number }): string {
  return `# Sluice demo configuration, written by \`npm start\` (src/demo/main.ts).
# NOT FOR PRODUCTION: a self-signed TLS certificate, a signing key on local disk, fake data.
# Relative paths are resolved against this file's directory (data/demo/).
listeners:
  http: 127.0.0.1:8080 # the demo falls back to a free port when this one is taken
  postgres: 127.0.0.1:15432 # likewise
store: sqlite:../sluice.db
signing_key: file:../signing-key.pem
policies: ../../examples/policies
tokens:
  default_ttl: 15m
  max_ttl: 12h
connections:
  - name: ${DEMO_CONNECTION}
    protocol: postgres
    labels: { env: prod }
    # The demo points this at the demo database wherever it started.
    target:
      host: ${database.host}
      port: ${database.port}
      database: app
      user: app
      password: file:../demo-app-password
`;
}

/** Writes the demo configuration unless the file exists. Returns whether it wrote it. */
export function writeDemoConfigIfMissing(path: string, database: { host: string; port: number }): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, demoConfigText(database), { mode: 0o644 });
  return true;
}

export interface DemoConfig {
  readonly config: SluiceConfig;
  /** What was changed from the file for this run, for people. */
  readonly adjustments: readonly string[];
}

/**
 * Loads the configuration, then (in memory only) moves listeners whose port is taken to free
 * ports and points the demo connection at the running demo database.
 */
export async function loadDemoConfig(
  path: string,
  database: { host: string; port: number },
): Promise<DemoConfig> {
  const loaded = await loadConfig(path);
  const adjustments: string[] = [];
  const listener = async (name: string, address: { host: string; port: number }) => {
    if (address.port === 0 || (await isPortFree(address.host, address.port))) return address;
    adjustments.push(`${name} port ${address.port} is taken: listening on a free port instead`);
    return { host: address.host, port: 0 };
  };
  const listeners = {
    http: await listener("http", loaded.listeners.http),
    postgres: await listener("postgres", loaded.listeners.postgres),
  };
  let found = false;
  const connections = loaded.connections.map((connection): Connection => {
    if (connection.name !== DEMO_CONNECTION) return connection;
    found = true;
    const { target } = connection;
    if (target.host === database.host && target.port === database.port) return connection;
    adjustments.push(
      `connection ${DEMO_CONNECTION}: the demo database is on ${database.host}:${database.port} (the file says ${target.host}:${target.port})`,
    );
    return {
      ...connection,
      target: withHiddenPassword({ ...target, host: database.host, port: database.port }, target.password),
    };
  });
  if (!found)
    adjustments.push(
      `no connection named ${DEMO_CONNECTION} in ${path}: the demo database is not reachable through the gateway`,
    );
  return { config: { ...loaded, listeners, connections }, adjustments };
}
