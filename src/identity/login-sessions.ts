import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { ErrorCodes, type Principal, type PrincipalKind, SluiceError } from "../core/index.ts";
import type { TokenIssuer } from "./token-issuer.ts";
import { type Clock, systemClock } from "./token-settings.ts";

/** What the store keeps of a login session (the secret refresh token only as a hash). */
export interface LoginSessionRecord {
  readonly id: string;
  readonly user: string;
  readonly kind: PrincipalKind;
  readonly provider: string;
  readonly idpGroups: readonly string[];
  readonly refreshHash: string;
  /** The hash of the refresh secret before the last refresh (seeing it again means it was copied). */
  readonly previousRefreshHash: string | undefined;
  readonly idpRefreshToken: string | undefined;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly refreshedAt: number;
  readonly revokedAt: number | undefined;
  readonly revokedReason: string | undefined;
}

/** The persistence a LoginService needs (the store module implements it). */
export interface LoginSessionStore {
  insertLoginSession(session: LoginSessionRecord): Promise<void>;
  getLoginSession(id: string): Promise<LoginSessionRecord | undefined>;
  updateLoginSession(
    id: string,
    expectedHash: string,
    update: {
      readonly refreshHash: string;
      readonly idpGroups: readonly string[];
      readonly idpRefreshToken: string | undefined;
      readonly refreshedAt: number;
    },
  ): Promise<boolean>;
  revokeLoginSession(id: string, at: number, reason: string): Promise<boolean>;
  /** Sessions of a user (all users when absent), newest first. */
  listLoginSessions(query?: {
    readonly user?: string;
    readonly limit?: number;
  }): Promise<LoginSessionRecord[]>;
  /** From memory or a local file: the check made for live protocol sessions. */
  isRevokedSync(id: string, now: number): boolean;
  /**
   * The same answer, asking the shared store when memory does not know the session yet (a
   * session started at another gateway a moment ago). Absent: `isRevokedSync` is the truth.
   */
  isRevokedAsync?(id: string, now: number): Promise<boolean>;
}

/** Who the IdP says logged in, as the IdP spells it. */
export interface IdpIdentity {
  readonly user: string;
  readonly idpGroups: readonly string[];
  /** The IdP's refresh token, when it gave one. */
  readonly refreshToken?: string;
}

/** What a provider can do for sessions besides logging in. */
export interface SessionProvider {
  readonly name: string;
  /** Sluice groups for the IdP's groups, by the provider's current rules. */
  mapGroups(idpGroups: readonly string[]): string[];
  /** Asks the IdP again who the user is (refresh token grant). Throws IdpRefusedError when the IdP says no. */
  refresh?(refreshToken: string): Promise<IdpIdentity>;
}

/** The IdP refused to refresh: the login it was bound to is over. */
export class IdpRefusedError extends Error {
  override readonly name = "IdpRefusedError";
}

export interface SessionInfo {
  readonly sessionId: string;
  readonly user: string;
  readonly kind: PrincipalKind;
  readonly provider: string;
  readonly groups: readonly string[];
  readonly sessionExpiresAt: number;
}

/** The tokens a login or refresh hands to the client. */
export interface SessionTokens {
  readonly accessToken: string;
  /** `<session id>.<secret>`: presented to refresh; replaced at every refresh. */
  readonly refreshToken: string;
  /** Seconds until the access token expires. */
  readonly expiresIn: number;
  /** Seconds since epoch when the session ends (no refresh after that). */
  readonly sessionExpiresAt: number;
  readonly principal: Principal;
}

export interface LoginServiceOptions {
  readonly store: LoginSessionStore;
  readonly issuer: TokenIssuer;
  readonly providers: ReadonlyMap<string, SessionProvider>;
  readonly sessionTtlSeconds: number;
  readonly now?: Clock;
  /**
   * Told about session starts, refreshes and ends (never with a token). For logins and refreshes
   * the tokens are handed out only once the returned promise resolves (the audit trail records
   * them first); a rejection fails the login or refresh. For ends it is only reported.
   */
  readonly onEvent?: (event: LoginEvent) => void | Promise<void>;
}

export interface LoginEvent {
  readonly type: "login" | "refresh" | "logout" | "revoked" | "refresh-refused";
  readonly sessionId: string;
  readonly user: string;
  readonly provider: string;
  readonly reason?: string;
  /** Logins and refreshes: the Sluice groups the new access token carries. */
  readonly groups?: readonly string[];
  /** Logins and refreshes: when the session ends (seconds since epoch). */
  readonly sessionExpiresAt?: number;
}

const REFRESH_FORMAT = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/**
 * Login sessions: after an IdP login, the gateway issues its own short-lived access token and a
 * refresh token for a session bound to that login. Refreshing rotates the refresh token (a
 * refresh token presented twice ends the session: it was copied), asks the IdP again when it
 * gave a refresh token, and applies the group mapping afresh. Revoking ends the session and,
 * through the revocation check, every access token issued from it.
 */
export class LoginService {
  readonly #options: LoginServiceOptions;
  readonly #now: Clock;

  constructor(options: LoginServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? systemClock;
  }

  /** Starts a session for a user the IdP vouched for. */
  async start(providerName: string, identity: IdpIdentity): Promise<SessionTokens> {
    const provider = this.#provider(providerName);
    const now = this.#seconds();
    const id = randomBytes(16).toString("base64url");
    const secret = randomBytes(32).toString("base64url");
    const record: LoginSessionRecord = {
      id,
      user: identity.user,
      kind: "human",
      provider: provider.name,
      idpGroups: [...identity.idpGroups],
      refreshHash: hashSecret(secret),
      previousRefreshHash: undefined,
      idpRefreshToken: identity.refreshToken,
      createdAt: now,
      expiresAt: now + this.#options.sessionTtlSeconds,
      refreshedAt: now,
      revokedAt: undefined,
      revokedReason: undefined,
    };
    await this.#options.store.insertLoginSession(record);
    const groups = provider.mapGroups(record.idpGroups);
    await this.#options.onEvent?.({
      type: "login",
      sessionId: id,
      user: record.user,
      provider: record.provider,
      groups,
      sessionExpiresAt: record.expiresAt,
    });
    return this.#tokens(record, groups, `${id}.${secret}`);
  }

  /** A new access token and refresh token for a refresh token, with groups evaluated again. */
  async refresh(refreshToken: string): Promise<SessionTokens> {
    const { id, secret } = parseRefreshToken(refreshToken);
    const record = await this.#options.store.getLoginSession(id);
    const now = this.#seconds();
    if (record === undefined) throw sessionError("unknown session");
    if (record.revokedAt !== undefined) throw sessionError("session revoked");
    if (record.expiresAt <= now) throw sessionError("session expired");
    const presented = hashSecret(secret);
    if (!sameHash(presented, record.refreshHash)) {
      if (record.previousRefreshHash !== undefined && sameHash(presented, record.previousRefreshHash)) {
        // A refresh token that was already used: someone holds a copy. End the session.
        await this.revoke(id, "refresh token reused");
        throw sessionError("session revoked");
      }
      throw sessionError("unknown session");
    }
    const provider = this.#options.providers.get(record.provider);
    if (provider === undefined) {
      await this.revoke(id, "identity provider removed");
      throw sessionError("session revoked");
    }
    let idpGroups = record.idpGroups;
    let idpRefreshToken = record.idpRefreshToken;
    if (idpRefreshToken !== undefined && provider.refresh !== undefined) {
      let identity: IdpIdentity;
      try {
        identity = await provider.refresh(idpRefreshToken);
      } catch (error) {
        if (error instanceof IdpRefusedError) {
          await this.revoke(id, "the identity provider refused to refresh");
          this.#event({
            type: "refresh-refused",
            sessionId: id,
            user: record.user,
            provider: record.provider,
          });
          throw sessionError("session ended by the identity provider");
        }
        throw new SluiceError(ErrorCodes.tokenInvalid, "the identity provider is unavailable; try again", {
          expose: true,
          cause: error,
        });
      }
      if (identity.user !== record.user) {
        await this.revoke(id, "the identity provider named another user");
        throw sessionError("session revoked");
      }
      idpGroups = identity.idpGroups;
      idpRefreshToken = identity.refreshToken ?? idpRefreshToken;
    }
    const nextSecret = randomBytes(32).toString("base64url");
    const updated = await this.#options.store.updateLoginSession(id, record.refreshHash, {
      refreshHash: hashSecret(nextSecret),
      idpGroups,
      idpRefreshToken,
      refreshedAt: now,
    });
    if (!updated) throw sessionError("session revoked");
    const groups = provider.mapGroups(idpGroups);
    await this.#options.onEvent?.({
      type: "refresh",
      sessionId: id,
      user: record.user,
      provider: record.provider,
      groups,
      sessionExpiresAt: record.expiresAt,
    });
    return this.#tokens({ ...record, idpGroups }, groups, `${id}.${nextSecret}`);
  }

  /** Ends a session (logout or an administrator). False when it was already over or unknown. */
  async revoke(sessionId: string, reason: string): Promise<boolean> {
    const record = await this.#options.store.getLoginSession(sessionId);
    const done = await this.#options.store.revokeLoginSession(sessionId, this.#seconds(), reason);
    if (done && record !== undefined) {
      this.#event({
        type: reason === "logout" ? "logout" : "revoked",
        sessionId,
        user: record.user,
        provider: record.provider,
        reason,
      });
    }
    return done;
  }

  /** The session a refresh token stands for, without using the token up (browser sessions). */
  async describe(refreshToken: string): Promise<SessionInfo> {
    const { id, secret } = parseRefreshToken(refreshToken);
    const record = await this.#options.store.getLoginSession(id);
    if (record === undefined || !sameHash(hashSecret(secret), record.refreshHash)) {
      throw sessionError("unknown session");
    }
    if (record.revokedAt !== undefined) throw sessionError("session revoked");
    if (record.expiresAt <= this.#seconds()) throw sessionError("session expired");
    const provider = this.#options.providers.get(record.provider);
    return {
      sessionId: record.id,
      user: record.user,
      kind: record.kind,
      provider: record.provider,
      groups: provider === undefined ? [] : provider.mapGroups(record.idpGroups),
      sessionExpiresAt: record.expiresAt,
    };
  }

  /** Logout with a refresh token: only its holder can end the session this way. */
  async logout(refreshToken: string): Promise<boolean> {
    const { id, secret } = parseRefreshToken(refreshToken);
    const record = await this.#options.store.getLoginSession(id);
    if (record === undefined || !sameHash(hashSecret(secret), record.refreshHash)) return false;
    return this.revoke(id, "logout");
  }

  /** True when the session is unknown, revoked or over (from memory: live protocol sessions). */
  isRevoked(sessionId: string): boolean {
    return this.#options.store.isRevokedSync(sessionId, this.#seconds());
  }

  /** The same, asking the shared store about sessions memory does not know yet (credential checks). */
  checkRevoked(sessionId: string): Promise<boolean> | boolean {
    const store = this.#options.store;
    return store.isRevokedAsync === undefined
      ? store.isRevokedSync(sessionId, this.#seconds())
      : store.isRevokedAsync(sessionId, this.#seconds());
  }

  /**
   * The newest live session of `user` and the groups its provider maps for it now (agents acting
   * for that user). Undefined when the user has no session that stands.
   */
  async currentSession(user: string): Promise<{ sessionId: string; groups: string[] } | undefined> {
    const now = this.#seconds();
    for (const record of await this.#options.store.listLoginSessions({ user, limit: 20 })) {
      if (record.user !== user || record.revokedAt !== undefined || record.expiresAt <= now) continue;
      const provider = this.#options.providers.get(record.provider);
      if (provider === undefined) continue;
      return { sessionId: record.id, groups: provider.mapGroups(record.idpGroups) };
    }
    return undefined;
  }

  async #tokens(record: LoginSessionRecord, groups: string[], refreshToken: string): Promise<SessionTokens> {
    const accessToken = await this.#options.issuer.issue({
      user: record.user,
      groups,
      kind: record.kind,
      loginSessionId: record.id,
      notAfter: record.expiresAt,
    });
    const now = this.#seconds();
    const payload = JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString()) as {
      exp: number;
      jti: string;
    };
    return {
      accessToken,
      refreshToken,
      expiresIn: payload.exp - now,
      sessionExpiresAt: record.expiresAt,
      principal: Object.freeze({
        user: record.user,
        groups: Object.freeze(groups),
        kind: record.kind,
        tokenId: payload.jti,
        expiresAt: payload.exp,
        loginSessionId: record.id,
      }),
    };
  }

  #provider(name: string): SessionProvider {
    const provider = this.#options.providers.get(name);
    if (provider === undefined) throw new RangeError(`unknown provider ${name}`);
    return provider;
  }

  #seconds(): number {
    return Math.floor(this.#now().getTime() / 1000);
  }

  /** Reports a session's end; a failure to record it is not the caller's (the end stands). */
  #event(event: LoginEvent): void {
    try {
      void Promise.resolve(this.#options.onEvent?.(event)).catch(() => {});
    } catch {
      // reported by the listener
    }
  }
}

function parseRefreshToken(token: string): { id: string; secret: string } {
  const match = typeof token === "string" ? REFRESH_FORMAT.exec(token) : null;
  if (match === null) throw sessionError("malformed refresh token");
  return { id: match[1]!, secret: match[2]! };
}

function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

function sessionError(reason: string): SluiceError {
  return new SluiceError(ErrorCodes.tokenInvalid, `invalid refresh token: ${reason}`, { expose: true });
}
