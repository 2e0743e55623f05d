import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import type { TokenIssuer } from "./token-issuer.ts";
import { type Clock, systemClock } from "./token-settings.ts";

/** An API key as the store keeps it (see the store module's SqliteServiceAccountStore). */
export interface ApiKeyRecord {
  readonly id: string;
  readonly account: string;
  readonly groups: readonly string[];
  readonly secretHash: string;
  readonly description: string | undefined;
  readonly createdBy: string | undefined;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly lastUsedAt: number | undefined;
  readonly revokedAt: number | undefined;
}

export interface ApiKeyStore {
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(query?: { readonly account?: string }): Promise<ApiKeyRecord[]>;
  touchApiKey(id: string, at: number): Promise<void>;
  revokeApiKey(id: string, at: number): Promise<boolean>;
  isApiKeyRevokedSync(id: string, now: number): boolean;
  /** Asks the shared store when memory does not know the key yet; absent: the sync answer stands. */
  isApiKeyRevokedAsync?(id: string, now: number): Promise<boolean>;
}

/** What happened to a key (never with the key or its hash). */
export type ServiceAccountEvent =
  | { readonly type: "created" | "revoked"; readonly record: ApiKeyRecord; readonly by?: string }
  | {
      readonly type: "exchanged";
      readonly record: ApiKeyRecord;
      readonly tokenId: string;
      readonly expiresAt: number;
    };

/** Tokens issued for an API key carry `sid` = this prefix + the key id. */
export const API_KEY_SESSION_PREFIX = "key:";

/** `sk_<id>_<secret>`: the id is public (listings, audit); the secret is shown once. */
const KEY_FORMAT = /^sk_([A-Za-z0-9]{16})_([A-Za-z0-9_-]{43})$/;
const ACCOUNT = /^[a-z0-9][a-z0-9._@:-]{0,62}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;

/** scrypt cost: N=2^15, r=8, p=1 (32 MiB, a few tens of ms): each exchange pays it once. */
const SCRYPT = { N: 32_768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

export interface CreatedApiKey {
  /** The whole key. Shown once; only a salted hash of its secret is stored. */
  readonly key: string;
  readonly record: ApiKeyRecord;
}

/**
 * Service accounts for automation: API keys scoped to groups, expiring and revocable, stored as
 * salted scrypt hashes, exchanged for short-lived gateway tokens. Revoking a key also ends the
 * tokens it was exchanged for (their `sid` names the key and is checked at every use).
 */
export class ServiceAccounts {
  readonly #store: ApiKeyStore;
  readonly #issuer: TokenIssuer | undefined;
  readonly #now: Clock;
  readonly #onEvent: ((event: ServiceAccountEvent) => void | Promise<void>) | undefined;

  /**
   * `onEvent` is awaited after a key is created, revoked or exchanged: a rejection fails the call
   * (the key or token is not handed out unrecorded; a revocation stands regardless).
   */
  constructor(
    store: ApiKeyStore,
    options: {
      readonly issuer?: TokenIssuer;
      readonly now?: Clock;
      readonly onEvent?: (event: ServiceAccountEvent) => void | Promise<void>;
    } = {},
  ) {
    this.#store = store;
    this.#issuer = options.issuer;
    this.#now = options.now ?? systemClock;
    this.#onEvent = options.onEvent;
  }

  async create(request: {
    readonly account: string;
    readonly groups: readonly string[];
    readonly ttlSeconds: number;
    readonly description?: string;
    readonly createdBy?: string;
  }): Promise<CreatedApiKey> {
    if (!ACCOUNT.test(request.account)) {
      throw new RangeError("account: 1 to 63 lowercase letters, digits, '.', '_', '@', ':' or '-'");
    }
    const bad = request.groups.find((group) => !GROUP.test(group));
    if (bad !== undefined) throw new RangeError(`not a group name: ${bad}`);
    if (!Number.isSafeInteger(request.ttlSeconds) || request.ttlSeconds <= 0) {
      throw new RangeError("ttlSeconds must be a positive integer");
    }
    const id = randomId();
    const secret = randomBytes(32).toString("base64url");
    const now = this.#seconds();
    const record: ApiKeyRecord = {
      id,
      account: request.account,
      groups: [...new Set(request.groups)].sort(),
      secretHash: await hashSecret(secret),
      description: request.description,
      createdBy: request.createdBy,
      createdAt: now,
      expiresAt: now + request.ttlSeconds,
      lastUsedAt: undefined,
      revokedAt: undefined,
    };
    await this.#store.insertApiKey(record);
    await this.#onEvent?.({
      type: "created",
      record,
      ...(request.createdBy === undefined ? {} : { by: request.createdBy }),
    });
    return { key: `sk_${id}_${secret}`, record };
  }

  list(account?: string): Promise<ApiKeyRecord[]> {
    return this.#store.listApiKeys(account === undefined ? {} : { account });
  }

  /** False when the key is unknown or already revoked. `by` names who asked (audit). */
  async revoke(id: string, by?: string): Promise<boolean> {
    const revoked = await this.#store.revokeApiKey(id, this.#seconds());
    const record = revoked ? await this.#store.getApiKey(id) : undefined;
    if (record !== undefined) {
      await this.#onEvent?.({ type: "revoked", record, ...(by === undefined ? {} : { by }) });
    }
    return revoked;
  }

  /** A short-lived gateway token for an API key (never outliving the key). */
  async exchange(apiKey: string): Promise<{ accessToken: string; expiresIn: number; record: ApiKeyRecord }> {
    if (this.#issuer === undefined) throw new Error("no token issuer");
    const match = typeof apiKey === "string" ? KEY_FORMAT.exec(apiKey) : null;
    if (match === null) throw refused("malformed API key");
    const record = await this.#store.getApiKey(match[1]!);
    // Unknown ids still pay for one hash, so that timing does not tell which ids exist.
    const matches = await verifySecret(match[2]!, record?.secretHash ?? DUMMY_HASH);
    const now = this.#seconds();
    if (record === undefined || !matches) throw refused("unknown API key");
    if (record.revokedAt !== undefined) throw refused("API key revoked");
    if (record.expiresAt <= now) throw refused("API key expired");
    await this.#store.touchApiKey(record.id, now);
    const accessToken = await this.#issuer.issue({
      user: record.account,
      groups: record.groups,
      kind: "service",
      loginSessionId: `${API_KEY_SESSION_PREFIX}${record.id}`,
      notAfter: record.expiresAt,
    });
    const claims = JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString()) as {
      exp: number;
      jti: string;
    };
    await this.#onEvent?.({ type: "exchanged", record, tokenId: claims.jti, expiresAt: claims.exp });
    return { accessToken, expiresIn: claims.exp - now, record };
  }

  /** For the revocation check: true when the key is unknown, revoked or expired. */
  isRevoked(keyId: string): boolean {
    return this.#store.isApiKeyRevokedSync(keyId, this.#seconds());
  }

  /** The same, asking the shared store about keys memory does not know yet (credential checks). */
  checkRevoked(keyId: string): Promise<boolean> | boolean {
    return this.#store.isApiKeyRevokedAsync === undefined
      ? this.#store.isApiKeyRevokedSync(keyId, this.#seconds())
      : this.#store.isApiKeyRevokedAsync(keyId, this.#seconds());
  }

  #seconds(): number {
    return Math.floor(this.#now().getTime() / 1000);
  }
}

const DUMMY_HASH = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${"A".repeat(22)}$${"A".repeat(43)}`;

function randomId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(16)].map((byte) => alphabet[byte % alphabet.length]).join("");
}

function derive(secret: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, 32, { ...params, maxmem: SCRYPT.maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(secret, salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || salt === undefined || hash === undefined) return false;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (params.N > SCRYPT.N * 4 || params.r > 32 || params.p > 16) return false;
  const expected = Buffer.from(hash, "base64url");
  const actual = await derive(secret, Buffer.from(salt, "base64url"), params);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function refused(reason: string): SluiceError {
  return new SluiceError(ErrorCodes.tokenInvalid, `invalid API key: ${reason}`, { expose: true });
}
