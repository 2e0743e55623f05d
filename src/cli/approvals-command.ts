import type { Command } from "commander";
import { SluiceError } from "../core/index.ts";
import { escapeText } from "../recording/index.ts";
import { CredentialCache, normalizeGateway } from "./credential-cache.ts";
import { currentLogin } from "./login-command.ts";

/** The gateway and token a command acts with: `--gateway`/`SLUICE_GATEWAY`, `SLUICE_TOKEN` or the login cache. */
async function caller(gatewayOption: string | undefined): Promise<{ gateway: string; token: string }> {
  const token = process.env.SLUICE_TOKEN;
  const gateway = gatewayOption ?? process.env.SLUICE_GATEWAY;
  if (token !== undefined && token !== "") {
    if (gateway === undefined) throw cliError("set --gateway or SLUICE_GATEWAY to use SLUICE_TOKEN");
    return { gateway: normalizeGateway(gateway), token };
  }
  const { gateway: origin, login } = await currentLogin(new CredentialCache(), gateway);
  return { gateway: origin, token: login.accessToken };
}

function cliError(message: string): SluiceError {
  return new SluiceError("SLUICE_CLI_APPROVALS", message);
}

async function call(
  gatewayOption: string | undefined,
  method: "GET" | "POST",
  path: string,
  body?: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { gateway, token } = await caller(gatewayOption);
  let response: Response;
  try {
    response = await fetch(`${gateway}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: "application/json",
        ...(body ? { "content-type": "application/json" } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      redirect: "error",
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw cliError(`cannot reach the gateway at ${gateway}`);
  }
  const parsed = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) throw cliError(`${response.status}: ${String(parsed.error ?? "request failed")}`);
  return parsed;
}

interface Shown {
  id: string;
  kind: string;
  state: string;
  requester: { user: string; onBehalfOf?: { user: string } };
  connection: string;
  command?: string;
  groups?: string[];
  duration_seconds?: number;
  reason?: string;
  reviewers: string[];
  min_approvals: number;
  approvals: number;
  expires_at: string;
  valid_until?: string;
}

function show(a: Shown): string {
  const who = a.requester.onBehalfOf
    ? `${a.requester.user} for ${a.requester.onBehalfOf.user}`
    : a.requester.user;
  const what =
    a.kind === "command"
      ? `command: ${escapeText(a.command ?? "")}`
      : `grant: ${(a.groups ?? []).join(", ")} for ${a.duration_seconds}s: ${escapeText(a.reason ?? "")}`;
  return [
    `${a.id}  ${a.state}  ${escapeText(who)} on ${a.connection}`,
    `  ${what}`,
    `  reviewers ${a.reviewers.join(", ")}  ${a.approvals}/${a.min_approvals} approvals  expires ${a.expires_at}${a.valid_until ? `  valid until ${a.valid_until}` : ""}`,
  ].join("\n");
}

const gatewayOption = [
  "--gateway <url>",
  "the gateway's HTTP address (default: SLUICE_GATEWAY or the login cache)",
] as const;

/** `sluice approvals`, `approve`, `deny` and `request`: reviewing and asking, as a user. */
export function registerApprovalCommands(program: Command): void {
  program
    .command("approvals")
    .description("approval requests waiting for your review (--mine: your own requests)")
    .option(...gatewayOption)
    .option("--mine", "your own requests instead")
    .option("--json", "print JSON")
    .action(async (options: { gateway?: string; mine?: boolean; json?: boolean }) => {
      const body = await call(
        options.gateway,
        "GET",
        `/api/approvals?view=${options.mine ? "mine" : "review"}`,
      );
      const list = (body.approvals ?? []) as Shown[];
      if (options.json) {
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      process.stdout.write(list.length === 0 ? "no approval requests\n" : `${list.map(show).join("\n\n")}\n`);
    });

  program
    .command("approve <id>")
    .description("approve a request you may review")
    .option(...gatewayOption)
    .option("--reason <text>", "why (recorded in the audit trail)")
    .action(async (id: string, options: { gateway?: string; reason?: string }) => {
      const result = (await call(
        options.gateway,
        "POST",
        `/api/approvals/${encodeURIComponent(id)}/approve`,
        {
          ...(options.reason ? { reason: options.reason } : {}),
        },
      )) as unknown as Shown;
      process.stdout.write(`${show(result)}\n`);
    });

  program
    .command("deny <id>")
    .description("deny a request you may review")
    .option(...gatewayOption)
    .requiredOption("--reason <text>", "why (shown to the requester, recorded in the audit trail)")
    .action(async (id: string, options: { gateway?: string; reason: string }) => {
      const result = (await call(options.gateway, "POST", `/api/approvals/${encodeURIComponent(id)}/deny`, {
        reason: options.reason,
      })) as unknown as Shown;
      process.stdout.write(`${show(result)}\n`);
    });

  program
    .command("request")
    .description("ask to be treated as a member of groups on a connection for a while")
    .option(...gatewayOption)
    .requiredOption("--connection <name>", "the connection")
    .requiredOption("--groups <list>", "comma-separated groups")
    .requiredOption("--for <duration>", "how long once approved, e.g. 30m")
    .requiredOption("--reason <text>", "why (reviewers see it)")
    .option("--json", "print JSON")
    .action(
      async (options: {
        gateway?: string;
        connection: string;
        groups: string;
        for: string;
        reason: string;
        json?: boolean;
      }) => {
        const result = (await call(options.gateway, "POST", "/api/grants", {
          connection: options.connection,
          groups: options.groups
            .split(",")
            .map((g) => g.trim())
            .filter((g) => g !== ""),
          duration: options.for,
          reason: options.reason,
        })) as unknown as Shown;
        process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${show(result)}\n`);
      },
    );
}
