import { ErrorCodes, SluiceError } from "../core/index.ts";

/** One problem found in a policy bundle. `line` and `column` are 1-based; 0 means "no position". */
export interface PolicyDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly ruleId?: string;
  readonly message: string;
}

/** `policies/prod.yaml:12:11: rule no-drop-in-prod: unknown field sql.kindz` */
export function formatDiagnostic(d: PolicyDiagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const rule = d.ruleId === undefined ? "" : `rule ${d.ruleId}: `;
  return `${where}: ${rule}${d.message}`;
}

/** Stable order: by file, then position, then message. */
export function sortDiagnostics(diagnostics: readonly PolicyDiagnostic[]): PolicyDiagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      compareStrings(a.file, b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      compareStrings(a.message, b.message),
  );
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A policy bundle that cannot be loaded; carries every diagnostic found, not just the first. */
export class PolicyError extends SluiceError {
  readonly diagnostics: readonly PolicyDiagnostic[];
  constructor(diagnostics: readonly PolicyDiagnostic[]) {
    const sorted = sortDiagnostics(diagnostics);
    const count = sorted.length === 1 ? "1 problem" : `${sorted.length} problems`;
    super(
      ErrorCodes.policyInvalid,
      `policy bundle is invalid (${count}):\n${sorted.map(formatDiagnostic).join("\n")}`,
    );
    this.name = "PolicyError";
    this.diagnostics = sorted;
  }
}
