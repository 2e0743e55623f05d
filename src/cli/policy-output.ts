import type {
  BatchOutcome,
  ExplainedStatement,
  PolicyBundle,
  PolicyTestReport,
  PolicyTestResult,
  RuleExplanation,
} from "../policy/index.ts";
import { formatDiagnostic, visibleFacts } from "../policy/index.ts";
import { printable } from "./format-audit.ts";

const list = (items: readonly string[]) => `[${items.join(", ")}]`;

/** `1 rule`, `2 rules`. */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `sha256:0123456789ab… (git 0123456)`: short enough for a summary line. */
export function shortVersion(bundle: Pick<PolicyBundle, "version" | "gitCommit">): string {
  const git = bundle.gitCommit === undefined ? "" : ` (git ${bundle.gitCommit.slice(0, 12)})`;
  return `${bundle.version}${git}`;
}

/** `allow (rule-allowed) by [a, b]: reason` */
export function describeOutcome(outcome: Pick<BatchOutcome, "effect" | "reasonCode" | "ruleIds" | "reason">) {
  return `${outcome.effect} (${outcome.reasonCode}) by ${list(outcome.ruleIds)}: ${printable(outcome.reason)}`;
}

function quoted(text: string, max = 200): string {
  const safe = printable(text);
  return JSON.stringify(safe.length > max ? `${safe.slice(0, max)}…` : safe);
}

function formatResult(result: PolicyTestResult): string[] {
  const name = printable(result.name);
  if (result.passed) return [`  ok    ${name}`];
  const lines = [`  FAIL  ${name} (${result.file}:${result.line})`];
  const pad = "          ";
  for (const d of result.diagnostics) lines.push(`${pad}${formatDiagnostic(d)}`);
  for (const m of result.mismatches) {
    lines.push(`${pad}${`${m.field}:`.padEnd(10)} expected ${m.expected}, actual ${printable(m.actual)}`);
  }
  const outcome = result.outcome;
  if (outcome !== undefined) {
    lines.push(`${pad}decision: ${describeOutcome(outcome)}`);
    if (outcome.masks.length > 0) lines.push(`${pad}masks: ${list(outcome.masks)}`);
    if (outcome.approvers.length > 0) lines.push(`${pad}approvers: ${list(outcome.approvers)}`);
    if (outcome.statements.length > 1) {
      outcome.statements.forEach((s, i) => {
        lines.push(`${pad}  statement ${i + 1} ${quoted(s.text, 80)}: ${describeOutcome(s.decision)}`);
      });
    }
  }
  return lines;
}

/** The test run; the last line is `N passed, N failed` alone. */
export function formatTestReport(dir: string, report: PolicyTestReport, coverage: boolean): string {
  const lines = [
    `policy ${dir}: ${plural(report.bundle.rules.length, "rule")}, ${shortVersion(report.bundle)}; ${plural(report.files.length, "test file")}`,
  ];
  let file: string | undefined;
  for (const result of report.results) {
    if (result.file !== file) {
      file = result.file;
      lines.push(file);
    }
    lines.push(...formatResult(result));
  }
  if (report.files.length === 0) lines.push(`no *.test.yaml files under ${dir}`);
  if (coverage) {
    const total = report.bundle.rules.length;
    lines.push(`coverage: ${total - report.unexercised.length} of ${total} rules exercised`);
    for (const rule of report.unexercised) {
      lines.push(`  not exercised: ${rule.id} (${rule.file}:${rule.line}:${rule.column})`);
    }
  }
  lines.push(`${report.passed} passed, ${report.failed} failed`);
  return `${lines.join("\n")}\n`;
}

/**
 * JSON for people: containers that fit in `width` columns stay on one line. Control characters
 * JSON leaves raw (DEL and C1) are escaped too, so statement text cannot drive the terminal.
 */
export function compactJson(value: unknown, indent = "", width = 100): string {
  const flat = safeJson(value);
  if (value === null || typeof value !== "object" || indent.length + flat.length <= width) return flat;
  const inner = `${indent}  `;
  const items = Array.isArray(value)
    ? value.map((v) => `${inner}${compactJson(v, inner, width)}`)
    : Object.entries(value).map(([k, v]) => `${inner}${safeJson(k)}: ${compactJson(v, inner, width)}`);
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  return items.length === 0 ? `${open}${close}` : `${open}\n${items.join(",\n")}\n${indent}${close}`;
}

function safeJson(value: unknown): string {
  return (JSON.stringify(value) ?? "null").replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function ruleStatus(rule: RuleExplanation): string {
  if (!rule.matched) return `not matched: ${rule.whyNot ?? "match failed"}`;
  if (rule.condition === "false") return "matched; when is false";
  if (rule.condition === "error") return `applied as deny; when failed: ${rule.error ?? "error"}`;
  return rule.condition === "true" ? "applied; when is true" : "applied (no when)";
}

/** Human-readable explanation of every statement and the final decision. */
export function formatExplanation(
  dir: string,
  bundle: PolicyBundle,
  statements: readonly ExplainedStatement[],
  outcome: BatchOutcome,
): string {
  const first = statements[0]?.action;
  const lines = [`policy     ${dir}: ${plural(bundle.rules.length, "rule")}, ${shortVersion(bundle)}`];
  if (first !== undefined) {
    const p = first.principal;
    const obo =
      p.onBehalfOf === undefined ? "" : `, on behalf of ${p.onBehalfOf.user} ${list(p.onBehalfOf.groups)}`;
    lines.push(`principal  ${p.user} (${p.kind}), groups ${list(p.groups)}${obo}`);
    const labels = Object.entries(first.connection.labels).map(([k, v]) => `${k}=${v}`);
    lines.push(`connection ${first.connection.name} (${first.connection.protocol}), labels ${list(labels)}`);
  }
  statements.forEach((s, i) => {
    lines.push("", `statement ${i + 1} of ${statements.length}: ${quoted(s.text, 500)}`, "facts:");
    lines.push(compactJson(visibleFacts(s.action, s.explanation)));
    lines.push("rules:");
    const width = Math.max(...s.explanation.rules.map((r) => r.id.length), 4);
    for (const rule of s.explanation.rules) {
      const mode = rule.mode === "shadow" ? " [shadow]" : "";
      const mark = rule.deciding ? "=> " : rule.applied ? " + " : "   ";
      lines.push(
        `${mark}${rule.id.padEnd(width)}  ${rule.effect.padEnd(7)} ${ruleStatus(rule)}${mode}  (${rule.file}:${rule.line})`,
      );
    }
    if (s.explanation.rules.length === 0) lines.push("   (the bundle has no rules)");
    const d = s.decision;
    lines.push(`decision: ${describeOutcome(d)}`);
    if (d.approval !== undefined) {
      lines.push(
        `approval: reviewers ${list(d.approval.reviewers)}, min ${d.approval.minApprovals}, ttl ${d.approval.ttlSeconds}s`,
      );
    }
    if (d.masks !== undefined) lines.push(`masks: ${list(d.masks.map((m) => m.ruleId))}`);
    if (d.shadowRuleIds !== undefined)
      lines.push(`shadow rules that would change it: ${list(d.shadowRuleIds)}`);
  });
  if (statements.length > 1) {
    lines.push(
      "",
      `batch decision (all statements run only if every one is allowed): ${describeOutcome(outcome)}`,
    );
  }
  lines.push("", "legend: => deciding rule, + applied; rules are listed in bundle order");
  return `${lines.join("\n")}\n`;
}
