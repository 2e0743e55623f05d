import { spawn } from "node:child_process";
import { REPO_ROOT } from "./sluice-cli.ts";

export interface ServeProcess {
  readonly host: string;
  readonly port: number;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` and resolves with the exit code (null when killed by the signal). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** Runs `sluice serve -c <config> --no-watch` as a child process until it says where it listens. */
export function startServe(configPath: string, timeoutMs = 30_000): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "serve", "-c", configPath, "--no-watch"],
    { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  let started = false;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sluice serve did not start: ${stderr}`));
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`sluice serve exited: ${stderr}`));
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening: postgres (\S+):(\d+)/.exec(stderr);
      if (match && !started) {
        started = true;
        clearTimeout(timer);
        resolve({
          host: match[1]!,
          port: Number(match[2]),
          stderr: () => stderr,
          stop(signal) {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
  });
}
