import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type Document, LineCounter, parseDocument, visit } from "yaml";
import type { z } from "zod";
import { type Connection, ErrorCodes, SluiceError } from "../core/index.ts";
import { resolveApprovalNotifications } from "./approvals-schema.ts";
import { finishAuditSinks } from "./audit-sinks.ts";
import { ConfigError, type ConfigIssue } from "./config-error.ts";
import { deepFreeze } from "./deep-freeze.ts";
import { withHiddenPassword } from "./hidden-password.ts";
import { resolveIdentitySecrets } from "./identity-secrets.ts";
import { describeIssue } from "./issue-message.ts";
import { createConfigSchema, type ParsedConnection } from "./schema.ts";
import { type ResolveSecretOptions, resolveSecret } from "./secret-ref.ts";
import { formatPath, type IssuePath, locatePath } from "./source-position.ts";
import type { MaskingConfig, SluiceConfig } from "./types.ts";

export interface LoadConfigOptions extends ResolveSecretOptions {
  /** Skip reading backend secrets: for CLI commands that never connect to a backend. */
  readonly skipSecrets?: boolean;
}

/** Reads, validates and resolves one configuration file. Throws ConfigError listing every problem. */
export async function loadConfig(path: string, options: LoadConfigOptions = {}): Promise<SluiceConfig> {
  const fullPath = resolve(path);
  let text: string;
  try {
    text = await readFile(fullPath, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "read error";
    throw new SluiceError(ErrorCodes.configInvalid, `${path}: cannot read configuration file (${code})`);
  }
  return parseConfig(text, path, dirname(fullPath), options);
}

/**
 * Validates configuration text. `fileName` is only used in messages; relative paths in the
 * file are resolved against `baseDir`.
 */
export async function parseConfig(
  text: string,
  fileName: string,
  baseDir: string,
  options: LoadConfigOptions = {},
): Promise<SluiceConfig> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((error) => ({
      ...lineCounter.linePos(error.pos[0]),
      path: "",
      message: error.message,
    }));
    throw new ConfigError(ErrorCodes.configInvalid, fileName, issues);
  }

  const aliasIssues = unresolvedAliases(doc, lineCounter);
  if (aliasIssues.length > 0) throw new ConfigError(ErrorCodes.configInvalid, fileName, aliasIssues);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(ErrorCodes.configInvalid, fileName, [{ line: 1, col: 1, path: "", message }]);
  }

  const result = createConfigSchema(baseDir).safeParse(data ?? {}, { error: describeIssue });
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue) => toConfigIssues(issue, doc, lineCounter));
    throw new ConfigError(ErrorCodes.configInvalid, fileName, issues);
  }

  const secretIssues: ConfigIssue[] = [];
  const connections = await Promise.all(
    result.data.connections.map((parsed, index) =>
      resolveConnection(parsed, baseDir, options).catch((error: unknown) => {
        const path = ["connections", index, "target", "password"];
        secretIssues.push(issueAt(doc, lineCounter, path, secretFailure(error)));
        return undefined;
      }),
    ),
  );
  const identity = await resolveIdentitySecrets(
    result.data.identity,
    baseDir,
    { ...options, ...(options.skipSecrets ? { skip: true } : {}) },
    (path, error) => secretIssues.push(issueAt(doc, lineCounter, path, secretFailure(error))),
  );
  const sinks = await finishAuditSinks(result.data.audit.sinks, {
    ...options,
    store: result.data.store,
    signingKey: result.data.signingKey,
    baseDir,
    onSecretError: (index, error) =>
      secretIssues.push(issueAt(doc, lineCounter, ["audit", "sinks", index, "secret"], secretFailure(error))),
  });
  const hashKeyRef = result.data.masking.hashKey;
  const hashKey =
    hashKeyRef === undefined || options.skipSecrets
      ? undefined
      : await resolveSecret(hashKeyRef, baseDir, options).catch((error: unknown) => {
          secretIssues.push(issueAt(doc, lineCounter, ["masking", "hash_key"], secretFailure(error)));
          return undefined;
        });
  const notifications = await resolveApprovalNotifications(result.data.approvals.notifications, {
    ...options,
    baseDir,
    ...(options.skipSecrets ? { skipSecrets: true } : {}),
    onSecretError: (path, error) =>
      secretIssues.push(
        issueAt(doc, lineCounter, ["approvals", "notifications", ...path], secretFailure(error)),
      ),
  });
  if (secretIssues.length > 0) throw new ConfigError(ErrorCodes.secretUnresolved, fileName, secretIssues);

  return deepFreeze({
    ...result.data,
    audit: { ...result.data.audit, sinks },
    identity,
    masking: hiddenHashKey(hashKey),
    approvals: { ...result.data.approvals, notifications },
    connections: connections.filter((c) => c !== undefined),
  });
}

async function resolveConnection(
  parsed: ParsedConnection,
  baseDir: string,
  options: LoadConfigOptions,
): Promise<Connection> {
  const { password, ...target } = parsed.target;
  const secret =
    password === undefined || options.skipSecrets
      ? undefined
      : await resolveSecret(password, baseDir, options);
  return {
    name: parsed.name,
    protocol: parsed.protocol,
    labels: parsed.labels,
    target: withHiddenPassword(target, secret),
  };
}

function secretFailure(error: unknown): string {
  // resolveSecret only reports the reference; anything else is summarised without its text.
  return error instanceof SluiceError ? error.message : "secret could not be resolved";
}

function unresolvedAliases(doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  visit(doc, {
    Alias(_key, alias) {
      if (alias.resolve(doc) !== undefined) return;
      const position = lineCounter.linePos(alias.range?.[0] ?? 0);
      issues.push({ ...position, path: "", message: `unknown alias *${alias.source}` });
    },
  });
  return issues;
}

/** One zod issue becomes one located issue, or one per key for unknown keys. */
function toConfigIssues(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => issueAt(doc, lineCounter, [...issue.path, key], "unknown key"));
  }
  return [issueAt(doc, lineCounter, issue.path, issue.message)];
}

function issueAt(doc: Document, lineCounter: LineCounter, path: IssuePath, message: string): ConfigIssue {
  return { ...locatePath(doc, lineCounter, path), path: formatPath(path), message };
}

/** The hash key stays readable by the gateway but out of JSON and inspect output. */
function hiddenHashKey(key: string | undefined): MaskingConfig {
  const masking = {};
  if (key !== undefined) Object.defineProperty(masking, "hashKey", { value: key, enumerable: false });
  return masking;
}
