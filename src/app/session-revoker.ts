import type { ProtocolAdapter, SessionContext } from "../core/index.ts";

export interface SessionRevokerOptions {
  readonly adapters: readonly ProtocolAdapter[];
  /** True when a login session (or API key) is revoked, unknown or over. */
  readonly isRevoked: (loginSessionId: string) => boolean;
  readonly intervalMs: number;
  /** Clock skew tolerated on a credential's expiry (`tokens.leeway`). */
  readonly leewaySeconds: number;
  readonly log: (message: string) => void;
  readonly now?: () => number;
}

/**
 * Closes live protocol sessions whose identity is gone: every `intervalMs` (and at once when a
 * session is revoked in this process), each adapter ends the sessions whose login session or
 * API key was revoked or is over, and those whose credential — a token not bound to a login
 * session, such as a trusted issuer's — has expired. A session bound to a login lives as long as
 * the login, not as long as the 15-minute access token it started with.
 */
export class SessionRevoker {
  readonly #options: SessionRevokerOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SessionRevokerOptions) {
    this.#options = options;
  }

  /** Why this session must end, or undefined while its identity stands. */
  reasonToEnd(session: SessionContext): string | undefined {
    const { principal } = session;
    if (principal.loginSessionId !== undefined) {
      return this.#options.isRevoked(principal.loginSessionId)
        ? "session ended: the login was revoked or has ended"
        : undefined;
    }
    const now = (this.#options.now ?? Date.now)() / 1000;
    if (principal.expiresAt !== undefined && principal.expiresAt + this.#options.leewaySeconds <= now) {
      return "session ended: the credential has expired";
    }
    return undefined;
  }

  /** Ends every session that must end now; returns how many. */
  check(): number {
    let ended = 0;
    for (const adapter of this.#options.adapters) {
      try {
        ended += adapter.terminateSessions?.((session) => this.reasonToEnd(session)) ?? 0;
      } catch (error) {
        this.#options.log(`identity: revocation check of ${adapter.protocol} failed: ${String(error)}`);
      }
    }
    if (ended > 0)
      this.#options.log(`identity: ended ${ended} live session(s) of revoked or expired identities`);
    return ended;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.check(), this.#options.intervalMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
