import { wellFormed } from "./chain.ts";
import type { ApprovalQuery, StoredApproval } from "./store.ts";

/**
 * The `approvals` table's row, shared by both stores: the indexable columns plus the rest as
 * JSON text (`data`), stored exactly as serialized. Timestamps are ISO-8601 UTC text in the form
 * `Date.prototype.toISOString` writes, so text order is time order on both stores.
 */
export const APPROVAL_COLUMNS =
  "id, kind, state, requester, connection, command_hash, created_at, expires_at, version, data";

export const DEFAULT_APPROVAL_LIMIT = 100;
export const MAX_APPROVAL_LIMIT = 1000;

export interface ApprovalRow {
  id: string;
  kind: string;
  state: string;
  requester: string;
  connection: string;
  command_hash: string | null;
  created_at: string;
  expires_at: string;
  version: number;
  data: string;
}

/** The row's values in {@link APPROVAL_COLUMNS} order. */
export type ApprovalValues = [
  string,
  StoredApproval["kind"],
  string,
  string,
  string,
  string | null,
  string,
  string,
  number,
  string,
];

const KINDS: ReadonlySet<string> = new Set(["command", "grant"]);

function text(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`approval ${field} must be a non-empty string`);
  }
  return wellFormed(value);
}

function timestamp(value: unknown, field: string): string {
  const time = typeof value === "string" ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time) || new Date(time).toISOString() !== value) {
    throw new TypeError(`approval ${field} must be an ISO-8601 UTC time as Date.toISOString() writes it`);
  }
  return value as string;
}

function isVersion(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= 0x7fffffff;
}

/** Checks an approval's shape and returns its row values; throws (the store then rejects). */
export function approvalValues(approval: StoredApproval): ApprovalValues {
  if (!KINDS.has(approval.kind)) throw new TypeError(`approval kind must be "command" or "grant"`);
  if (!isVersion(approval.version)) throw new TypeError("approval version must be a positive integer");
  const commandHash = approval.commandHash === null ? null : text(approval.commandHash, "commandHash");
  const data = approval.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new TypeError("approval data must be a JSON object");
  }
  // JSON.stringify throws on a BigInt or a cycle; its output never holds a raw NUL or lone surrogate.
  const dataJson = JSON.stringify(data);
  return [
    text(approval.id, "id"),
    approval.kind,
    text(approval.state, "state"),
    text(approval.requester, "requester"),
    text(approval.connection, "connection"),
    commandHash,
    timestamp(approval.createdAt, "createdAt"),
    timestamp(approval.expiresAt, "expiresAt"),
    approval.version,
    dataJson,
  ];
}

/** A new approval's row values: it must be at version 1. */
export function newApprovalValues(approval: StoredApproval): ApprovalValues {
  if (approval.version !== 1) throw new TypeError("a new approval must have version 1");
  return approvalValues(approval);
}

/** An update's row values: `next` must be exactly one version after `expectedVersion`. */
export function updatedApprovalValues(next: StoredApproval, expectedVersion: number): ApprovalValues {
  if (!isVersion(expectedVersion) || next.version !== expectedVersion + 1) {
    throw new TypeError(
      `approval update must go from version ${String(expectedVersion)} to ${String(expectedVersion + 1)}, not ${String(next.version)}`,
    );
  }
  return approvalValues(next);
}

export function fromApprovalRow(row: ApprovalRow): StoredApproval {
  return {
    id: row.id,
    kind: row.kind as StoredApproval["kind"],
    state: row.state,
    requester: row.requester,
    connection: row.connection,
    commandHash: row.command_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    version: Number(row.version),
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

/** The query's filters as (column, value) pairs, in a fixed order. */
export function approvalFilters(query: ApprovalQuery): [string, string][] {
  const filters: [string, string][] = [];
  const add = (column: string, value: string | undefined): void => {
    if (value !== undefined) filters.push([column, wellFormed(value)]);
  };
  add("state", query.state);
  add("kind", query.kind);
  add("requester", query.requester);
  add("connection", query.connection);
  add("command_hash", query.commandHash);
  return filters;
}

/** The query's limit: default 100, at most 1000; anything but a positive integer is refused. */
export function approvalLimit(query: ApprovalQuery): number {
  const limit = query.limit ?? DEFAULT_APPROVAL_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError("approval list limit must be a positive integer");
  }
  return Math.min(limit, MAX_APPROVAL_LIMIT);
}
