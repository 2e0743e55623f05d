import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SqliteLoginSessionStore } from "./login-session-store.ts";
import { SqliteStore } from "./sqlite-store.ts";

describe("SqliteLoginSessionStore", () => {
  it("shares the store's file without touching the audit chain, and updates only the current hash", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-sessions-"));
    try {
      const path = join(dir, "sluice.db");
      const sessions = new SqliteLoginSessionStore(path);
      const audit = new SqliteStore(path);
      await sessions.insertLoginSession({
        id: "s1",
        user: "alice",
        kind: "human",
        provider: "corp",
        idpGroups: ["eng"],
        refreshHash: "aa",
        previousRefreshHash: undefined,
        idpRefreshToken: "rt",
        createdAt: 100,
        expiresAt: 200,
        refreshedAt: 100,
        revokedAt: undefined,
        revokedReason: undefined,
      });
      assert.equal(sessions.isRevokedSync("s1", 150), false);
      assert.equal(sessions.isRevokedSync("s1", 200), true);
      assert.equal(sessions.isRevokedSync("nope", 150), true);
      const update = { refreshHash: "bb", idpGroups: ["ops"], idpRefreshToken: "rt2", refreshedAt: 120 };
      assert.equal(await sessions.updateLoginSession("s1", "zz", update), false);
      assert.equal(await sessions.updateLoginSession("s1", "aa", update), true);
      const row = await sessions.getLoginSession("s1");
      assert.equal(row?.refreshHash, "bb");
      assert.equal(row?.previousRefreshHash, "aa");
      assert.deepEqual(row?.idpGroups, ["ops"]);
      assert.equal(await sessions.revokeLoginSession("s1", 130, "logout"), true);
      assert.equal(await sessions.revokeLoginSession("s1", 131, "again"), false);
      const revoked = await sessions.getLoginSession("s1");
      assert.equal(revoked?.revokedReason, "logout");
      assert.equal(revoked?.idpRefreshToken, undefined);
      assert.deepEqual(await sessions.revokedSince(130), ["s1"]);
      assert.equal((await sessions.listLoginSessions({ user: "alice" })).length, 1);
      assert.equal(await audit.auditHead(), undefined);
      await audit.close();
      await sessions.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
