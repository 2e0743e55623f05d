/**
 * Login sessions and API keys as table rows, for both stores: one column list, one way in, one way
 * out. PostgreSQL returns int8 columns as strings, SQLite as numbers; both read back as numbers.
 */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { LoginSessionRow } from "./login-session-store.ts";
import type { ApiKeyRow } from "./service-account-store.ts";

/** Columns of `login_sessions`, in the order of `loginSessionValues`. */
export const SESSION_COLUMNS = `id, "user", kind, provider, idp_groups, refresh_hash, previous_refresh_hash,
  idp_refresh_token, created_at, expires_at, refreshed_at, revoked_at, revoked_reason`;
/** Columns of `api_keys`, in the order of `apiKeyValues`. */
export const KEY_COLUMNS = `id, account, groups, secret_hash, description, created_by, created_at, expires_at,
  last_used_at, revoked_at`;

type Cell = string | number | null;
type Row = Readonly<Record<string, unknown>>;

const text = (value: unknown): string => String(value);
const optionalText = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);
const optionalNumber = (value: unknown): number | undefined =>
  value === null || value === undefined ? undefined : Number(value);

export function loginSessionValues(s: LoginSessionRow): Cell[] {
  return [
    s.id,
    s.user,
    s.kind,
    s.provider,
    JSON.stringify(s.idpGroups),
    s.refreshHash,
    s.previousRefreshHash ?? null,
    s.idpRefreshToken ?? null,
    s.createdAt,
    s.expiresAt,
    s.refreshedAt,
    s.revokedAt ?? null,
    s.revokedReason ?? null,
  ];
}

export function loginSessionFromRow(row: Row): LoginSessionRow {
  return {
    id: text(row.id),
    user: text(row.user),
    kind: text(row.kind) as LoginSessionRow["kind"],
    provider: text(row.provider),
    idpGroups: JSON.parse(text(row.idp_groups)) as string[],
    refreshHash: text(row.refresh_hash),
    previousRefreshHash: optionalText(row.previous_refresh_hash),
    idpRefreshToken: optionalText(row.idp_refresh_token),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    refreshedAt: Number(row.refreshed_at),
    revokedAt: optionalNumber(row.revoked_at),
    revokedReason: optionalText(row.revoked_reason),
  };
}

export function apiKeyValues(k: ApiKeyRow): Cell[] {
  return [
    k.id,
    k.account,
    JSON.stringify(k.groups),
    k.secretHash,
    k.description ?? null,
    k.createdBy ?? null,
    k.createdAt,
    k.expiresAt,
    k.lastUsedAt ?? null,
    k.revokedAt ?? null,
  ];
}

export function apiKeyFromRow(row: Row): ApiKeyRow {
  return {
    id: text(row.id),
    account: text(row.account),
    groups: JSON.parse(text(row.groups)) as string[],
    secretHash: text(row.secret_hash),
    description: optionalText(row.description),
    createdBy: optionalText(row.created_by),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    lastUsedAt: optionalNumber(row.last_used_at),
    revokedAt: optionalNumber(row.revoked_at),
  };
}

/** `?, ?, …` or `$1, $2, …` for `count` values. */
export function placeholders(count: number, style: "sqlite" | "postgres"): string {
  return Array.from({ length: count }, (_, i) => (style === "sqlite" ? "?" : `$${i + 1}`)).join(", ");
}

/** An identity table's own SQLite connection (WAL) on the store's file, its schema created. */
export function openSqliteTable(path: string, schema: string): Database.Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path, { timeout: 2000 });
  try {
    db.pragma("journal_mode = WAL");
    db.exec(schema);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
