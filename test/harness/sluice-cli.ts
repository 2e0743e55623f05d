import { resolve } from "node:path";
import { type ProcessResult, runProcess } from "./run-process.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

export type CliResult = ProcessResult;

/** Runs `sluice <args>` as a child process (`node --import tsx src/cli/main.ts`), from the repo root. */
export function sluice(
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return runProcess(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

/** The last line of the output, without the final newline. */
export const lastLine = (text: string): string => text.trimEnd().split("\n").at(-1) ?? "";
