import { ErrorCodes, type Principal, SluiceError } from "../core/index.ts";
import { API_KEY_SESSION_PREFIX } from "./service-accounts.ts";
import type { TokenIssuer } from "./token-issuer.ts";
import { type Clock, systemClock } from "./token-settings.ts";

/** Agent names: what follows `agent:` in the agent token's subject. */
const ACTOR = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** The user name of an agent token minted for the actor `actor`. */
export const AGENT_USER_PREFIX = "agent:";

export interface AgentTokenRequest {
  /** The verified principal of the subject token: a person logged in at this gateway. */
  readonly subject: Principal;
  /** The agent's name (`copilot`); its token's subject is `agent:<actor>`. */
  readonly actor: string;
  /** A subset of the subject's groups; absent: all of them. */
  readonly groups?: readonly string[];
  /** Requested lifetime; defaults to `tokens.default_ttl`, capped at `tokens.max_ttl`. */
  readonly ttlSeconds?: number;
}

export interface AgentToken {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly principal: Principal;
}

/** A token exchange that happened (never with a token). */
export interface AgentTokenEvent {
  readonly subject: string;
  readonly actor: string;
  readonly groups: readonly string[];
  readonly loginSessionId: string;
  readonly tokenId: string;
  readonly expiresAt: number;
}

/**
 * Token exchange for agents (in the manner of RFC 8693): a person logged in at this gateway
 * presents their access token and gets a short-lived token for an agent acting for them
 * (`kind: agent`, `obo` naming them). The agent carries the person's groups, or fewer when asked
 * (then `on_behalf_of.groups` is narrowed too, so no rule can reach the rest), and the person's
 * login session id, so logging out or revoking the session ends the agent's token too.
 * Delegation does not chain: agents, services and tokens not bound to a login are refused.
 */
export class AgentTokens {
  readonly #issuer: TokenIssuer;
  readonly #now: Clock;
  readonly #onEvent: ((event: AgentTokenEvent) => void | Promise<void>) | undefined;

  constructor(
    issuer: TokenIssuer,
    options: {
      readonly now?: Clock;
      /** Awaited before the token is handed out; a rejection fails the exchange. */
      readonly onEvent?: (event: AgentTokenEvent) => void | Promise<void>;
    } = {},
  ) {
    this.#issuer = issuer;
    this.#now = options.now ?? systemClock;
    this.#onEvent = options.onEvent;
  }

  async exchange(request: AgentTokenRequest): Promise<AgentToken> {
    const { subject } = request;
    const sessionId = subject.loginSessionId;
    if (
      subject.kind !== "human" ||
      subject.onBehalfOf !== undefined ||
      sessionId === undefined ||
      sessionId.startsWith(API_KEY_SESSION_PREFIX)
    ) {
      throw refused("invalid_request", "only a person's login at this gateway can be exchanged");
    }
    if (typeof request.actor !== "string" || !ACTOR.test(request.actor)) {
      throw refused("invalid_request", "actor: 1 to 63 lowercase letters, digits, '.', '_' or '-'");
    }
    let groups = [...subject.groups];
    if (request.groups !== undefined) {
      const extra = request.groups.find((group) => !subject.groups.includes(group));
      if (extra !== undefined) throw refused("invalid_scope", `not one of your groups: ${extra}`);
      groups = [...new Set(request.groups)].sort();
    }
    if (
      request.ttlSeconds !== undefined &&
      (!Number.isSafeInteger(request.ttlSeconds) || request.ttlSeconds <= 0)
    ) {
      throw refused("invalid_request", "expires_in must be a positive number of seconds");
    }
    const user = `${AGENT_USER_PREFIX}${request.actor}`;
    const onBehalfOf = Object.freeze({ user: subject.user, groups: Object.freeze([...groups]) });
    const accessToken = await this.#issuer.issue({
      user,
      groups,
      kind: "agent",
      onBehalfOf,
      loginSessionId: sessionId,
      ...(request.ttlSeconds === undefined ? {} : { ttlSeconds: request.ttlSeconds }),
    });
    const claims = JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString()) as {
      exp: number;
      jti: string;
    };
    await this.#onEvent?.({
      subject: subject.user,
      actor: user,
      groups,
      loginSessionId: sessionId,
      tokenId: claims.jti,
      expiresAt: claims.exp,
    });
    return {
      accessToken,
      expiresIn: claims.exp - Math.floor(this.#now().getTime() / 1000),
      principal: Object.freeze({
        user,
        groups: Object.freeze(groups),
        kind: "agent",
        onBehalfOf,
        tokenId: claims.jti,
        expiresAt: claims.exp,
        loginSessionId: sessionId,
      }),
    };
  }
}

/** A refused exchange: `code` is the OAuth error, the message is safe to show the client. */
export class AgentTokenError extends SluiceError {
  constructor(
    readonly oauthError: "invalid_request" | "invalid_scope",
    message: string,
  ) {
    super(ErrorCodes.tokenInvalid, message, { expose: true });
  }
}

function refused(code: "invalid_request" | "invalid_scope", message: string): AgentTokenError {
  return new AgentTokenError(code, message);
}
