/**
 * `sluice policy replay`: decides the actions stored in the audit trail again under a candidate
 * policy and reports what would change. Actions are rebuilt from the stored facts (never
 * re-parsed), and `time.*` facts use each record's time, so a replay is exact even after the
 * analyser changes.
 */
import type { Action, Effect, Facts, PrincipalKind } from "../core/index.ts";
import type { PolicyBundle, PolicyDecision, SettableClock } from "../policy/index.ts";
import type { StoredAuditRecord } from "../store/index.ts";
import { printable } from "./format-audit.ts";
import { shortVersion } from "./policy-output.ts";

export const MAX_EXAMPLES = 5;

/** The effect the policy itself gave a recorded action, from the stored reason code. */
export function recordedPolicyEffect(reasonCode: unknown): Effect | undefined {
  switch (reasonCode) {
    case "rule-allowed":
    // Refused only because another statement of its batch was denied: its own decision allowed it.
    case "batch-denied":
      return "allow";
    case "rule-denied":
    case "no-rule-allowed":
    case "policy-error":
      return "deny";
    case "approval-required":
    // The policy asked for an approval the gateway could not hold.
    case "approval-unavailable":
      return "approve";
    default:
      // A protocol guard or the audit store refused it; the policy never decided.
      return undefined;
  }
}

const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === "string");
const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);
const KINDS = new Set(["human", "service", "agent"]);

/** The action as it was decided, from `data.action`, `data.principal` and `data.connection`. */
export function rebuildAction(record: StoredAuditRecord): Action | undefined {
  const { action, principal, connection } = record.data;
  if (!isRecord(action) || !isRecord(principal) || !isRecord(connection)) return undefined;
  if (
    typeof action.kind !== "string" ||
    typeof action.protocol !== "string" ||
    typeof action.text !== "string" ||
    !isRecord(action.facts)
  )
    return undefined;
  if (
    typeof principal.user !== "string" ||
    !isStrings(principal.groups) ||
    typeof principal.kind !== "string" ||
    !KINDS.has(principal.kind)
  )
    return undefined;
  if (
    typeof connection.name !== "string" ||
    typeof connection.protocol !== "string" ||
    !isRecord(connection.labels)
  )
    return undefined;
  const obo = principal.on_behalf_of;
  const onBehalfOf =
    isRecord(obo) && typeof obo.user === "string" && isStrings(obo.groups)
      ? { onBehalfOf: { user: obo.user, groups: obo.groups } }
      : {};
  return {
    kind: action.kind,
    protocol: action.protocol,
    text: action.text,
    facts: action.facts as Facts,
    principal: {
      user: principal.user,
      groups: principal.groups,
      kind: principal.kind as PrincipalKind,
      ...onBehalfOf,
    },
    connection: {
      name: connection.name,
      protocol: connection.protocol,
      labels: connection.labels as Record<string, string>,
    },
    sessionId: record.sessionId ?? "replay",
  };
}

export interface ReplayExample {
  readonly time: string;
  readonly user: string;
  readonly connection: string;
  readonly text: string;
  readonly before: {
    readonly effect: Effect;
    readonly reasonCode: string;
    readonly ruleIds: readonly string[];
  };
  readonly after: {
    readonly effect: Effect;
    readonly reasonCode: string;
    readonly reason: string;
    readonly ruleIds: readonly string[];
  };
}

export interface ReplayChange {
  count: number;
  readonly examples: ReplayExample[];
}

export interface ReplayReport {
  readonly candidate: { readonly version: string; readonly gitCommit?: string };
  /** Action records read from the audit trail. */
  readonly records: number;
  readonly newlyDenied: ReplayChange;
  readonly newlyAllowed: ReplayChange;
  readonly newlyNeedingApproval: ReplayChange;
  readonly unchanged: number;
  /** Records the policy never decided (protocol guard refusals). */
  readonly notPolicyDecisions: number;
  /** Records without a readable action, principal or connection. */
  readonly unreadable: number;
}

/** Decides each record's action under `bundle` (compiled with `clock.read` as its clock). */
export function replayRecords(
  bundle: PolicyBundle,
  clock: SettableClock,
  records: readonly StoredAuditRecord[],
): ReplayReport {
  const change = (): ReplayChange => ({ count: 0, examples: [] });
  const report = {
    candidate: {
      version: bundle.version,
      ...(bundle.gitCommit === undefined ? {} : { gitCommit: bundle.gitCommit }),
    },
    records: records.length,
    newlyDenied: change(),
    newlyAllowed: change(),
    newlyNeedingApproval: change(),
    unchanged: 0,
    notPolicyDecisions: 0,
    unreadable: 0,
  };
  for (const record of records) {
    const stored = record.data.decision;
    if (!isRecord(stored)) {
      report.unreadable++;
      continue;
    }
    const before = recordedPolicyEffect(stored.reason_code);
    if (before === undefined) {
      report.notPolicyDecisions++;
      continue;
    }
    const action = rebuildAction(record);
    const time = new Date(record.time);
    if (action === undefined || Number.isNaN(time.getTime())) {
      report.unreadable++;
      continue;
    }
    clock.set(time);
    const after: PolicyDecision = bundle.decide(action);
    if (after.effect === before) {
      report.unchanged++;
      continue;
    }
    const bucket =
      after.effect === "deny"
        ? report.newlyDenied
        : after.effect === "allow"
          ? report.newlyAllowed
          : report.newlyNeedingApproval;
    bucket.count++;
    if (bucket.examples.length < MAX_EXAMPLES) {
      bucket.examples.push({
        time: record.time,
        user: action.principal.user,
        connection: action.connection.name,
        text: action.text,
        before: {
          effect: before,
          reasonCode: String(stored.reason_code),
          ruleIds: isStrings(stored.rule_ids) ? stored.rule_ids : [],
        },
        after: {
          effect: after.effect,
          reasonCode: after.reasonCode,
          reason: after.reason,
          ruleIds: after.ruleIds,
        },
      });
    }
  }
  clock.set(undefined);
  return report;
}

export const REPLAY_LEGEND = [
  "legend: each statement is compared on its own policy decision. A statement refused only because",
  "another statement in its batch was denied (reason batch-denied) counts as allowed, and one refused",
  "because it needed an approval (approval-unavailable) counts as needing approval. The recorded facts",
  "and times are used; nothing is parsed again. Refusals by a protocol guard are not policy decisions",
  "and are skipped.",
];

const list = (items: readonly string[]) => `[${items.join(", ")}]`;

function statementText(text: string): string {
  const safe = printable(text);
  return JSON.stringify(safe.length > 200 ? `${safe.slice(0, 200)}…` : safe);
}

export function formatReplay(report: ReplayReport, scope: string): string {
  const lines = [
    `replayed ${report.records} recorded actions (${scope}) under candidate ${shortVersion(report.candidate)}`,
  ];
  const section = (title: string, change: ReplayChange) => {
    lines.push(`${title}: ${change.count}`);
    for (const e of change.examples) {
      lines.push(`  ${e.time}  ${printable(e.user)}  ${printable(e.connection)}  ${statementText(e.text)}`);
      lines.push(
        `      was ${e.before.effect} (${e.before.reasonCode}) ${list(e.before.ruleIds)}, now ${e.after.effect} (${e.after.reasonCode}) ${list(e.after.ruleIds)}: ${printable(e.after.reason)}`,
      );
    }
    if (change.count > change.examples.length) {
      lines.push(`  ... and ${change.count - change.examples.length} more`);
    }
  };
  section("newly denied", report.newlyDenied);
  section("newly allowed", report.newlyAllowed);
  section("newly needing approval", report.newlyNeedingApproval);
  lines.push(`unchanged: ${report.unchanged}`);
  if (report.notPolicyDecisions > 0)
    lines.push(`skipped (refused by a protocol guard): ${report.notPolicyDecisions}`);
  if (report.unreadable > 0) lines.push(`skipped (unreadable records): ${report.unreadable}`);
  lines.push(...REPLAY_LEGEND);
  return `${lines.join("\n")}\n`;
}

/** The report as JSON (`--json`). */
export function replayJson(report: ReplayReport): Record<string, unknown> {
  const change = (c: ReplayChange) => ({
    count: c.count,
    examples: c.examples.map((e) => ({
      time: e.time,
      user: e.user,
      connection: e.connection,
      text: e.text,
      before: { effect: e.before.effect, reason_code: e.before.reasonCode, rule_ids: e.before.ruleIds },
      after: {
        effect: e.after.effect,
        reason_code: e.after.reasonCode,
        reason: e.after.reason,
        rule_ids: e.after.ruleIds,
      },
    })),
  });
  return {
    candidate: {
      version: report.candidate.version,
      ...(report.candidate.gitCommit === undefined ? {} : { git_commit: report.candidate.gitCommit }),
    },
    records: report.records,
    newly_denied: change(report.newlyDenied),
    newly_allowed: change(report.newlyAllowed),
    newly_needing_approval: change(report.newlyNeedingApproval),
    unchanged: report.unchanged,
    skipped_not_policy: report.notPolicyDecisions,
    skipped_unreadable: report.unreadable,
  };
}
