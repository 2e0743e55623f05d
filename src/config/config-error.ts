import { type ErrorCodes, SluiceError } from "../core/index.ts";

/** One problem in a configuration file, located at the node that caused it. */
export interface ConfigIssue {
  readonly line: number;
  readonly col: number;
  /** Dotted path such as `connections[0].target.port`; empty for the document itself. */
  readonly path: string;
  readonly message: string;
}

export type ConfigErrorCode = typeof ErrorCodes.configInvalid | typeof ErrorCodes.secretUnresolved;

/** Every problem found in one configuration file, one `file:line:col: path: message` per line. */
export class ConfigError extends SluiceError {
  readonly fileName: string;
  readonly issues: readonly ConfigIssue[];
  constructor(code: ConfigErrorCode, fileName: string, issues: readonly ConfigIssue[]) {
    const sorted = [...issues].sort((a, b) => a.line - b.line || a.col - b.col);
    super(code, sorted.map((issue) => formatIssue(fileName, issue)).join("\n"));
    this.name = "ConfigError";
    this.fileName = fileName;
    this.issues = Object.freeze(sorted);
  }
}

export function formatIssue(fileName: string, issue: ConfigIssue): string {
  const where = issue.path === "" ? "" : `${issue.path}: `;
  return `${fileName}:${issue.line}:${issue.col}: ${where}${issue.message}`;
}
