import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeJwt, exportPKCS8, generateKeyPair } from "jose";
import { SluiceError } from "../core/index.ts";
import {
  type IdpIdentity,
  IdpRefusedError,
  LoginService,
  type LoginSessionRecord,
  type LoginSessionStore,
} from "./login-sessions.ts";
import { importSigningKey } from "./signing-key.ts";
import { TokenIssuer } from "./token-issuer.ts";

class MemoryStore implements LoginSessionStore {
  readonly rows = new Map<string, LoginSessionRecord>();
  async insertLoginSession(session: LoginSessionRecord) {
    this.rows.set(session.id, session);
  }
  async getLoginSession(id: string) {
    return this.rows.get(id);
  }
  async updateLoginSession(
    id: string,
    expectedHash: string,
    update: Pick<LoginSessionRecord, "refreshHash" | "idpGroups" | "idpRefreshToken" | "refreshedAt">,
  ) {
    const row = this.rows.get(id);
    if (row === undefined || row.refreshHash !== expectedHash || row.revokedAt !== undefined) return false;
    this.rows.set(id, { ...row, ...update, previousRefreshHash: row.refreshHash });
    return true;
  }
  async revokeLoginSession(id: string, at: number, reason: string) {
    const row = this.rows.get(id);
    if (row === undefined || row.revokedAt !== undefined) return false;
    this.rows.set(id, { ...row, revokedAt: at, revokedReason: reason, idpRefreshToken: undefined });
    return true;
  }
  async listLoginSessions(query: { readonly user?: string } = {}) {
    return [...this.rows.values()]
      .filter((row) => query.user === undefined || row.user === query.user)
      .sort((a, b) => b.createdAt - a.createdAt);
  }
  isRevokedSync(id: string, now: number) {
    const row = this.rows.get(id);
    return row === undefined || row.revokedAt !== undefined || row.expiresAt <= now;
  }
}

async function setup(refresh?: (token: string) => Promise<IdpIdentity>) {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const key = await importSigningKey(await exportPKCS8(privateKey));
  let now = new Date("2026-01-01T00:00:00Z");
  const clock = () => now;
  const issuer = new TokenIssuer(
    key,
    { issuer: "sluice", audience: "sluice", defaultTtlSeconds: 900, maxTtlSeconds: 43_200, leewaySeconds: 0 },
    { now: clock },
  );
  const store = new MemoryStore();
  const service = new LoginService({
    store,
    issuer,
    sessionTtlSeconds: 3600,
    now: clock,
    providers: new Map([
      [
        "corp",
        {
          name: "corp",
          mapGroups: (groups: readonly string[]) =>
            groups.filter((g) => g.startsWith("eng")).map((g) => `x-${g}`),
          ...(refresh === undefined ? {} : { refresh }),
        },
      ],
    ]),
  });
  return { service, store, advance: (seconds: number) => (now = new Date(now.getTime() + seconds * 1000)) };
}

const refusedWith = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof SluiceError);
  assert.match(error.message, pattern);
  return true;
};

describe("LoginService", () => {
  it("issues an access token bound to the session, mapped groups, never past the session's end", async () => {
    const { service, store, advance } = await setup();
    const tokens = await service.start("corp", { user: "alice", idpGroups: ["eng", "sales"] });
    const claims = decodeJwt(tokens.accessToken);
    assert.deepEqual(claims.groups, ["x-eng"]);
    assert.equal(claims.sid, tokens.principal.loginSessionId);
    assert.equal(tokens.expiresIn, 900);
    assert.equal([...store.rows.values()][0]?.refreshHash.length, 64);
    assert.equal(
      JSON.stringify([...store.rows.values()]).includes(tokens.refreshToken.split(".")[1]!),
      false,
    );
    advance(3300);
    const late = await service.refresh(tokens.refreshToken);
    assert.equal(late.expiresIn, 300);
    advance(300);
    await assert.rejects(service.refresh(late.refreshToken), refusedWith(/session expired/));
  });

  it("rotates refresh tokens; a reused one ends the session, a guessed one does not", async () => {
    const { service } = await setup();
    const first = await service.start("corp", { user: "alice", idpGroups: [] });
    const id = first.principal.loginSessionId!;
    await assert.rejects(service.refresh(`${id}.${"A".repeat(43)}`), refusedWith(/unknown session/));
    const second = await service.refresh(first.refreshToken);
    assert.equal(service.isRevoked(id), false);
    await assert.rejects(service.refresh(first.refreshToken), refusedWith(/session revoked/));
    assert.equal(service.isRevoked(id), true);
    await assert.rejects(service.refresh(second.refreshToken), refusedWith(/session revoked/));
    await assert.rejects(service.refresh("garbage"), refusedWith(/malformed refresh token/));
  });

  it("re-reads the user at the IdP on refresh and ends the session when the IdP refuses", async () => {
    let groups = ["eng-a"];
    let refuse = false;
    const { service } = await setup(async () => {
      if (refuse) throw new IdpRefusedError("invalid_grant");
      return { user: "alice", idpGroups: groups, refreshToken: "idp-rt-2" };
    });
    const first = await service.start("corp", {
      user: "alice",
      idpGroups: ["eng-a"],
      refreshToken: "idp-rt",
    });
    groups = ["eng-b"];
    const second = await service.refresh(first.refreshToken);
    assert.deepEqual(second.principal.groups, ["x-eng-b"]);
    refuse = true;
    await assert.rejects(service.refresh(second.refreshToken), refusedWith(/ended by the identity provider/));
    assert.equal(service.isRevoked(first.principal.loginSessionId!), true);
  });

  it("logout needs the current refresh token", async () => {
    const { service } = await setup();
    const tokens = await service.start("corp", { user: "alice", idpGroups: [] });
    assert.equal(await service.logout(`${tokens.principal.loginSessionId}.${"B".repeat(43)}`), false);
    assert.equal(await service.logout(tokens.refreshToken), true);
    assert.equal(await service.logout(tokens.refreshToken), false);
    await assert.rejects(service.describe(tokens.refreshToken), refusedWith(/session revoked/));
  });

  it("finds a user's newest live session and its groups now (agents acting for them)", async () => {
    const { service, advance } = await setup();
    assert.equal(await service.currentSession("alice"), undefined);
    const older = await service.start("corp", { user: "alice", idpGroups: ["eng-a"] });
    advance(10);
    const newer = await service.start("corp", { user: "alice", idpGroups: ["eng-b"] });
    await service.start("corp", { user: "bob", idpGroups: ["eng-c"] });
    assert.deepEqual(await service.currentSession("alice"), {
      sessionId: newer.principal.loginSessionId,
      groups: ["x-eng-b"],
    });
    await service.revoke(newer.principal.loginSessionId!, "logout");
    assert.equal((await service.currentSession("alice"))?.sessionId, older.principal.loginSessionId);
    advance(3600);
    assert.equal(await service.currentSession("alice"), undefined);
  });

  it("hands out no tokens when the login or refresh cannot be recorded; ends are only reported", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const key = await importSigningKey(await exportPKCS8(privateKey));
    const issuer = new TokenIssuer(key, {
      issuer: "sluice",
      audience: "sluice",
      defaultTtlSeconds: 900,
      maxTtlSeconds: 3600,
      leewaySeconds: 0,
    });
    let failing = false;
    const seen: string[] = [];
    const service = new LoginService({
      store: new MemoryStore(),
      issuer,
      sessionTtlSeconds: 3600,
      providers: new Map([["corp", { name: "corp", mapGroups: (groups: readonly string[]) => [...groups] }]]),
      onEvent: async (event) => {
        seen.push(`${event.type}:${(event.groups ?? []).join(",")}`);
        if (failing) throw new Error("audit down");
      },
    });
    const tokens = await service.start("corp", { user: "alice", idpGroups: ["g"] });
    failing = true;
    await assert.rejects(service.refresh(tokens.refreshToken), /audit down/);
    await assert.rejects(service.start("corp", { user: "bob", idpGroups: [] }), /audit down/);
    assert.equal(await service.revoke(tokens.principal.loginSessionId!, "logout"), true);
    assert.deepEqual(seen, ["login:g", "refresh:g", "login:", "logout:"]);
  });
});
