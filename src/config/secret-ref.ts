import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ErrorCodes, SluiceError } from "../core/index.ts";

/** Where a secret lives: an environment variable or a file. Never the secret itself. */
export type SecretRef =
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "file"; readonly path: string };

export const SECRET_REF_HINT = "secrets must be given as env:VAR or file:path";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Reads `env:VAR` or `file:path`; anything else (an inline secret) yields undefined. */
export function parseSecretRef(text: string): SecretRef | undefined {
  if (text.startsWith("env:")) {
    const name = text.slice("env:".length);
    return ENV_NAME.test(name) ? { kind: "env", name } : undefined;
  }
  if (text.startsWith("file:")) {
    const path = text.slice("file:".length);
    return path.trim() === "" ? undefined : { kind: "file", path };
  }
  return undefined;
}

export function formatSecretRef(ref: SecretRef): string {
  return ref.kind === "env" ? `env:${ref.name}` : `file:${ref.path}`;
}

export interface ResolveSecretOptions {
  /** Environment to read `env:` references from; defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Reads a secret. `file:` paths are relative to `baseDir`; the file's final newline is dropped.
 * Throws SluiceError SLUICE_CONFIG_SECRET_UNRESOLVED naming the reference, never the value.
 */
export async function resolveSecret(
  ref: SecretRef | string,
  baseDir: string,
  options: ResolveSecretOptions = {},
): Promise<string> {
  const parsed = typeof ref === "string" ? parseSecretRef(ref) : ref;
  if (parsed === undefined) throw unresolved(SECRET_REF_HINT);
  const value =
    parsed.kind === "env"
      ? readEnv(parsed.name, options.env ?? process.env)
      : await readSecretFile(parsed.path, baseDir);
  if (value === "") throw unresolved(`${formatSecretRef(parsed)} is empty`);
  return value;
}

function readEnv(name: string, env: NodeJS.ProcessEnv): string {
  const value = env[name];
  if (value === undefined) throw unresolved(`environment variable ${name} is not set`);
  return value;
}

async function readSecretFile(path: string, baseDir: string): Promise<string> {
  const fullPath = resolve(baseDir, path);
  let text: string;
  try {
    text = await readFile(fullPath, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "read error";
    throw unresolved(`cannot read secret file ${fullPath} (${code})`);
  }
  return text.replace(/\r?\n$/, "");
}

function unresolved(message: string): SluiceError {
  return new SluiceError(ErrorCodes.secretUnresolved, message);
}
