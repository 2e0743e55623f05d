/** Loading a policy directory from disk. */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PolicyBundle } from "./bundle.ts";
import { compilePolicyBundle, type PolicyFile, type PolicyOptions } from "./compile.ts";
import { compareStrings, PolicyError } from "./errors.ts";

const POLICY_FILE = /\.ya?ml$/;
const TEST_FILE = /\.test\.ya?ml$/;

/**
 * Every `*.yaml` / `*.yml` under `dir` (recursively; `*.test.yaml` / `*.test.yml` and entries
 * whose name starts with `.` are skipped), as `/`-separated paths relative to `dir`, sorted.
 */
export function readPolicyFiles(dir: string): Promise<PolicyFile[]> {
  return readFiles(dir, (name) => POLICY_FILE.test(name) && !TEST_FILE.test(name));
}

/** Every `*.test.yaml` / `*.test.yml` under `dir`, found and named like `readPolicyFiles`. */
export function readPolicyTestFiles(dir: string): Promise<PolicyFile[]> {
  return readFiles(dir, (name) => TEST_FILE.test(name));
}

async function readFiles(dir: string, wanted: (name: string) => boolean): Promise<PolicyFile[]> {
  const files: PolicyFile[] = [];
  const visit = async (relative: string): Promise<void> => {
    const entries = await readdir(join(dir, relative), { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await visit(path);
      else if (entry.isFile() && wanted(entry.name)) {
        files.push({ path, text: await readFile(join(dir, path), "utf8") });
      }
    }
  };
  await visit("");
  return files.sort((a, b) => compareStrings(a.path, b.path));
}

/** HEAD of the git checkout containing `dir`, or undefined (no git, not a checkout, any error). */
export function readGitCommit(dir: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    try {
      execFile(
        "git",
        ["rev-parse", "HEAD"],
        { cwd: dir, timeout: 5000, windowsHide: true },
        (error, stdout) => {
          const commit = String(stdout).trim();
          resolve(error === null && /^[0-9a-f]{40,64}$/.test(commit) ? commit : undefined);
        },
      );
    } catch {
      resolve(undefined);
    }
  });
}

/** Reads, validates and compiles the policy directory. Throws `PolicyError` with every problem. */
export async function loadPolicyBundle(dir: string, options: PolicyOptions = {}): Promise<PolicyBundle> {
  let files: PolicyFile[];
  try {
    files = await readPolicyFiles(dir);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : String(error);
    throw new PolicyError([
      { file: dir, line: 0, column: 0, message: `cannot read policy directory: ${reason}` },
    ]);
  }
  const gitCommit = await readGitCommit(dir);
  return compilePolicyBundle(files, {
    ...options,
    displayRoot: dir,
    ...(gitCommit === undefined ? {} : { gitCommit }),
  });
}
