import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { parse as parseYaml } from "yaml";
import {
  approvalNotificationsSchema,
  type ParsedNotificationTarget,
  resolveApprovalNotifications,
} from "./approvals-schema.ts";
import { describeIssue } from "./issue-message.ts";

/** The issues of parsing `notifications:` YAML, as `path: message`. */
function problems(yaml: string): string[] {
  const result = approvalNotificationsSchema.safeParse(parseYaml(yaml), { error: describeIssue });
  assert.equal(result.success, false, "expected the section to be rejected");
  // Unknown keys as the configuration loader reports them: one per key.
  return result.error!.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => `${[...issue.path, key].join(".")}: unknown key`)
      : [`${issue.path.join(".")}: ${issue.message}`],
  );
}

function parsed(yaml: string): ParsedNotificationTarget[] {
  const result = approvalNotificationsSchema.safeParse(parseYaml(yaml), { error: describeIssue });
  assert.ok(result.success, JSON.stringify(result.error?.issues));
  return result.data;
}

describe("approvals.notifications configuration", () => {
  it("defaults to no targets", () => {
    assert.deepEqual(approvalNotificationsSchema.parse(undefined), []);
  });

  it("reads webhook targets with env:/file: secrets and Slack targets by reference or https URL", () => {
    assert.deepEqual(
      parsed(`
- type: webhook
  url: https://hooks.corp.example/approvals
  secret: env:APPROVALS_HOOK_SECRET
- type: webhook
  url: http://127.0.0.1:9000/hook
  secret: file:./secrets/hook
- type: slack
  url: env:SLACK_APPROVALS_URL
- type: slack
  url: file:/run/secrets/slack-url
- type: slack
  url: https://hooks.slack.com/services/T0/B0/abc
`),
      [
        {
          type: "webhook",
          url: "https://hooks.corp.example/approvals",
          secret: { kind: "env", name: "APPROVALS_HOOK_SECRET" },
        },
        {
          type: "webhook",
          url: "http://127.0.0.1:9000/hook",
          secret: { kind: "file", path: "./secrets/hook" },
        },
        { type: "slack", url: { kind: "env", name: "SLACK_APPROVALS_URL" } },
        { type: "slack", url: { kind: "file", path: "/run/secrets/slack-url" } },
        { type: "slack", url: { kind: "url", url: "https://hooks.slack.com/services/T0/B0/abc" } },
      ],
    );
  });

  it("names every problem by key: inline secrets, plain http off loopback, unknown kinds and keys, duplicates", () => {
    assert.deepEqual(
      problems(`
- type: webhook
  url: http://hooks.corp.example/approvals
  secret: hunter2
- type: slack
  url: http://10.1.2.3/services/x
- type: slack
  url: not a url
- type: email
  to: dba@corp.example
- type: webhook
  url: https://hooks.corp.example/approvals
- type: slack
  url: env:SLACK_URL
  channel: "#dba"
`),
      [
        "0.url: plain http:// is allowed only on loopback; use https://",
        "0.secret: secrets must be given as env:VAR or file:path",
        "1.url: plain http:// is allowed only on loopback; use https://",
        "2.url: expected env:VAR, file:path or an https:// URL (the incoming webhook's URL)",
        "3.type: expected webhook or slack (the kind of notification target)",
        "4.secret: missing required key",
        "5.channel: unknown key",
      ],
    );
    assert.deepEqual(
      problems(`
- type: webhook
  url: https://a.corp.example/x
  secret: env:A
- type: slack
  url: env:SLACK_URL
- type: webhook
  url: https://a.corp.example/x
  secret: env:B
- type: slack
  url: env:SLACK_URL
`),
      [
        "2.url: the same target as approvals.notifications[0]",
        "3.url: the same target as approvals.notifications[1]",
      ],
    );
    assert.deepEqual(problems("type: webhook\n"), [": expected a list of notification targets"]);
  });

  it("resolves secrets into non-enumerable values, checks a referenced Slack URL, reports failures by key", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sluice-approvals-config-"));
    try {
      await writeFile(join(dir, "hook-secret"), "s3cret-from-file\n");
      await writeFile(join(dir, "slack-url"), "https://hooks.slack.com/services/T0/B0/from-file\n");
      await writeFile(join(dir, "bad-slack-url"), "http://hooks.slack.com/services/T0/B0/plain\n");
      const targets = parsed(`
- type: webhook
  url: https://hooks.corp.example/approvals
  secret: file:./hook-secret
- type: slack
  url: file:./slack-url
- type: slack
  url: env:SLACK_URL
- type: webhook
  url: https://other.corp.example/
  secret: env:MISSING
- type: slack
  url: file:./bad-slack-url
`);
      const failures: string[] = [];
      const resolved = await resolveApprovalNotifications(targets, {
        baseDir: dir,
        env: { SLACK_URL: "https://hooks.slack.com/services/T1/B1/from-env" },
        onSecretError: (path, error) => failures.push(`${path.join(".")}: ${(error as Error).message}`),
      });
      assert.deepEqual(failures, [
        "3.secret: environment variable MISSING is not set",
        "4.url: file:./bad-slack-url does not hold a usable URL: plain http:// is allowed only on loopback; use https://",
      ]);
      assert.equal(resolved.length, 3);
      const [webhook, slackFile, slackEnv] = resolved;
      assert.equal(webhook?.type, "webhook");
      assert.equal(webhook?.type === "webhook" ? webhook.secret : "", "s3cret-from-file");
      assert.equal(slackFile?.url, "https://hooks.slack.com/services/T0/B0/from-file");
      assert.equal(slackEnv?.url, "https://hooks.slack.com/services/T1/B1/from-env");
      // Secrets (and the Slack URLs, which are secrets) never show in JSON or inspect output.
      const shown = JSON.stringify(resolved) + inspect(resolved, { depth: 5 });
      for (const secret of ["s3cret-from-file", "from-file", "from-env", "/services/"]) {
        assert.ok(!shown.includes(secret), `${secret} is hidden`);
      }
      assert.deepEqual(JSON.parse(JSON.stringify(resolved)), [
        {
          type: "webhook",
          url: "https://hooks.corp.example/approvals",
          display: "webhook https://hooks.corp.example/approvals",
        },
        { type: "slack", display: "slack https://hooks.slack.com" },
        { type: "slack", display: "slack https://hooks.slack.com" },
      ]);
      assert.deepEqual(
        await resolveApprovalNotifications(targets, {
          baseDir: dir,
          skipSecrets: true,
          onSecretError: () => {},
        }),
        [],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
