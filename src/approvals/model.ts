import { createHash } from "node:crypto";
import type { Principal } from "../core/index.ts";
import type { StoredApproval } from "../store/index.ts";

export type ApprovalState = "pending" | "approved" | "denied" | "expired" | "used";
export type ApprovalKind = "command" | "grant";

export interface Vote {
  readonly reviewer: string;
  readonly decision: "approve" | "deny";
  readonly reason?: string;
  readonly at: string;
}

/** Who asked: what reviewers see of the requester (and of the human an agent acts for). */
export interface Requester {
  readonly user: string;
  readonly groups: readonly string[];
  readonly kind: Principal["kind"];
  readonly onBehalfOf?: { readonly user: string; readonly groups: readonly string[] };
}

/** One approval request: a held command, or a time-boxed grant of groups on a connection. */
export interface ApprovalRequest {
  readonly id: string;
  readonly kind: ApprovalKind;
  readonly state: ApprovalState;
  readonly requester: Requester;
  readonly connection: string;
  /** The session the command was held in (commands only). */
  readonly sessionId?: string;
  /** The exact command text and its sha256 (commands only). */
  readonly command?: string;
  readonly commandHash?: string;
  readonly protocol?: string;
  /** The facts the policy decided on (never result data). */
  readonly facts?: unknown;
  /** Grants: the groups asked for, for how long once approved, and why. */
  readonly groups?: readonly string[];
  readonly durationSeconds?: number;
  readonly reason?: string;
  readonly ruleIds: readonly string[];
  /** Reviewer groups: a reviewer must be in one of them. */
  readonly reviewers: readonly string[];
  readonly minApprovals: number;
  readonly createdAt: string;
  /** While pending: when the request lapses. */
  readonly expiresAt: string;
  /** Once approved: until when the command may run once, or the grant holds. */
  readonly validUntil?: string;
  readonly votes: readonly Vote[];
  readonly resolvedAt?: string;
  readonly version: number;
}

export function commandHash(text: string): string {
  return `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`;
}

export function requesterOf(principal: Principal): Requester {
  return {
    user: principal.user,
    groups: [...principal.groups],
    kind: principal.kind,
    ...(principal.onBehalfOf
      ? { onBehalfOf: { user: principal.onBehalfOf.user, groups: [...principal.onBehalfOf.groups] } }
      : {}),
  };
}

export function toStored(r: ApprovalRequest): StoredApproval {
  const { id, kind, state, connection, createdAt, expiresAt, version, commandHash: hash, ...rest } = r;
  return {
    id,
    kind,
    state,
    requester: r.requester.user,
    connection,
    commandHash: hash ?? null,
    createdAt,
    expiresAt,
    version,
    data: rest as unknown as Record<string, unknown>,
  };
}

export function fromStored(row: StoredApproval): ApprovalRequest {
  const data = row.data as unknown as Omit<
    ApprovalRequest,
    "id" | "kind" | "state" | "connection" | "createdAt" | "expiresAt" | "version" | "commandHash"
  >;
  return {
    ...data,
    id: row.id,
    kind: row.kind,
    state: row.state as ApprovalState,
    connection: row.connection,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    version: row.version,
    ...(row.commandHash === null ? {} : { commandHash: row.commandHash }),
  };
}

/** Approvals counted toward the quorum: distinct reviewers who approved. */
export function approvalsOf(r: ApprovalRequest): number {
  return new Set(r.votes.filter((v) => v.decision === "approve").map((v) => v.reviewer)).size;
}
