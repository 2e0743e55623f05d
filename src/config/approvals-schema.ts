import { z } from "zod";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import { parseWebhookUrl } from "./audit-sinks.ts";
import {
  parseSecretRef,
  type ResolveSecretOptions,
  resolveSecret,
  SECRET_REF_HINT,
  type SecretRef,
} from "./secret-ref.ts";

/**
 * `approvals.notifications` (docs/approvals.md#notifications): where approval requests and their
 * outcomes are announced. The file holds references only; `resolveApprovalNotifications` reads them.
 */

/** A notification target as written in the file: secrets still references. */
export type ParsedNotificationTarget =
  | { readonly type: "webhook"; readonly url: string; readonly secret: SecretRef }
  /** A Slack-compatible incoming webhook: its URL is its secret, so a reference (or an https URL). */
  | { readonly type: "slack"; readonly url: SecretRef | { readonly kind: "url"; readonly url: string } };

/**
 * A target ready for the notifier (`NotifierTarget` of src/approvals/notifications.ts). The webhook
 * secret and the Slack URL are non-enumerable: they never show in JSON or inspect output.
 * `display` is what may be shown (the Slack URL's origin only).
 */
export type NotificationTargetConfig =
  | { readonly type: "webhook"; readonly url: string; readonly secret: string; readonly display: string }
  | { readonly type: "slack"; readonly url: string; readonly display: string };

const SLACK_URL_HINT = "expected env:VAR, file:path or an https:// URL (the incoming webhook's URL)";

type Ctx = z.core.$RefinementCtx;

function fail(ctx: Ctx, message: string): never {
  ctx.issues.push({ code: "custom", message, input: undefined });
  return z.NEVER;
}

/** A schema-level message that leaves "missing required key" to the per-parse error map. */
function unlessMissing(message: string) {
  return (issue: { readonly input?: unknown }) => (issue.input === undefined ? undefined : message);
}

const secretRef = z
  .string({ error: unlessMissing(SECRET_REF_HINT) })
  .transform((text, ctx) => parseSecretRef(text) ?? fail(ctx, SECRET_REF_HINT));

const webhookUrl = z.string({ error: unlessMissing("expected an https:// URL") }).transform((text, ctx) => {
  const parsed = parseWebhookUrl(text);
  return parsed.ok ? parsed.url : fail(ctx, parsed.message);
});

const webhookTarget = z
  .strictObject({ type: z.literal("webhook"), url: webhookUrl, secret: secretRef })
  .transform((value): ParsedNotificationTarget => value);

const slackTarget = z
  .strictObject({
    type: z.literal("slack"),
    url: z.string({ error: unlessMissing(SLACK_URL_HINT) }).transform((text, ctx) => {
      const ref = parseSecretRef(text);
      if (ref !== undefined) return ref;
      if (!/^https?:\/\//.test(text)) return fail(ctx, SLACK_URL_HINT);
      const parsed = parseWebhookUrl(text);
      return parsed.ok ? { kind: "url" as const, url: parsed.url } : fail(ctx, parsed.message);
    }),
  })
  .transform((value): ParsedNotificationTarget => value);

const target = z.discriminatedUnion("type", [webhookTarget, slackTarget], {
  error: (issue) =>
    issue.code === "invalid_union"
      ? "expected webhook or slack (the kind of notification target)"
      : undefined,
});

/** `approvals.notifications`: a list of targets (default none); the same webhook URL at most once. */
export const approvalNotificationsSchema = z
  .array(target, { error: unlessMissing("expected a list of notification targets") })
  .superRefine((items, ctx) => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const key =
        item.type === "webhook"
          ? `webhook:${item.url}`
          : item.url.kind === "url"
            ? `slack:${item.url.url}`
            : `slack:${item.url.kind}:${item.url.kind === "env" ? item.url.name : item.url.path}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, index);
        return;
      }
      ctx.issues.push({
        code: "custom",
        message: `the same target as approvals.notifications[${first}]`,
        path: [index, "url"],
        input: undefined,
      });
    });
  })
  .prefault([]);

export type ParsedApprovalNotifications = z.output<typeof approvalNotificationsSchema>;

export interface ResolveNotificationsOptions extends ResolveSecretOptions {
  /** Relative `file:` references are read from here (the configuration's directory). */
  readonly baseDir: string;
  /** Leave secrets out (CLI commands that never notify): such targets are dropped. */
  readonly skipSecrets?: boolean;
  /**
   * Called for each secret that cannot be read or is no usable URL, with the key path below
   * `approvals.notifications` (e.g. `[1, "url"]`); the error names the reference, never a value.
   */
  readonly onSecretError: (path: (string | number)[], error: unknown) => void;
}

/** Reads the targets' secrets; a target whose secret failed is reported and left out. */
export async function resolveApprovalNotifications(
  targets: readonly ParsedNotificationTarget[],
  options: ResolveNotificationsOptions,
): Promise<NotificationTargetConfig[]> {
  if (options.skipSecrets) return [];
  const resolved = await Promise.all(
    targets.map(async (item, index): Promise<NotificationTargetConfig | undefined> => {
      if (item.type === "webhook") {
        let secret: string;
        try {
          secret = await resolveSecret(item.secret, options.baseDir, options);
        } catch (error) {
          options.onSecretError([index, "secret"], error);
          return undefined;
        }
        const shown = new URL(item.url);
        const webhook = {
          type: "webhook" as const,
          url: item.url,
          display: `webhook ${shown.origin}${shown.pathname}`,
        };
        Object.defineProperty(webhook, "secret", { get: () => secret, enumerable: false });
        return webhook as NotificationTargetConfig;
      }
      let url: string;
      if (item.url.kind === "url") {
        url = item.url.url;
      } else {
        let text: string;
        try {
          text = (await resolveSecret(item.url, options.baseDir, options)).trim();
        } catch (error) {
          options.onSecretError([index, "url"], error);
          return undefined;
        }
        const parsed = parseWebhookUrl(text);
        if (!parsed.ok) {
          // The value is a secret: say what is wrong with it, never what it is.
          const where = item.url.kind === "env" ? `env:${item.url.name}` : `file:${item.url.path}`;
          options.onSecretError(
            [index, "url"],
            new SluiceError(
              ErrorCodes.secretUnresolved,
              `${where} does not hold a usable URL: ${parsed.message}`,
            ),
          );
          return undefined;
        }
        url = parsed.url;
      }
      const slack = { type: "slack" as const, display: `slack ${new URL(url).origin}` };
      Object.defineProperty(slack, "url", { get: () => url, enumerable: false });
      return slack as NotificationTargetConfig;
    }),
  );
  return resolved.filter((t) => t !== undefined);
}
