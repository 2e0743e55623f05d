import { type ProcessResult, runProcess } from "./run-process.ts";

export type PsqlResult = ProcessResult;

/** Runs the real psql client with a password (the gateway token) from the environment. */
export function psql(
  conninfo: string,
  password: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<PsqlResult> {
  return runProcess("psql", [conninfo, "-X", "-v", "ON_ERROR_STOP=1", "-At", ...args], {
    env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: "10" },
    ...options,
  });
}
