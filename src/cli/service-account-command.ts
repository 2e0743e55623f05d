import type { Command } from "commander";
import { serviceAccountAuditEvent } from "../app/index.ts";
import { AuditLog } from "../audit/index.ts";
import { loadConfig, parseDuration } from "../config/index.ts";
import { SluiceError } from "../core/index.ts";
import { type ApiKeyStore, isLoopbackHost, ServiceAccounts } from "../identity/index.ts";
import { openStore, PostgresIdentityStores, SqliteServiceAccountStore } from "../store/index.ts";
import { CredentialCache } from "./credential-cache.ts";
import { currentLogin } from "./login-command.ts";

const list = (value: string | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);

/**
 * Runs `run` with the service accounts of the configured store (SQLite file or shared
 * PostgreSQL); creations and revocations are recorded in its audit trail.
 */
async function withAccounts<T>(
  configPath: string,
  run: (accounts: ServiceAccounts) => Promise<T>,
): Promise<T> {
  const config = await loadConfig(configPath, { skipSecrets: true });
  const store = openStore(config.store);
  let keys: (ApiKeyStore & { close(): Promise<void> }) | undefined;
  try {
    await store.ready();
    keys =
      config.store.kind === "sqlite"
        ? new SqliteServiceAccountStore(config.store.path)
        : new PostgresIdentityStores({ store, url: config.store.url });
    const audit = new AuditLog(store);
    const by = process.env.USER ?? "cli";
    const accounts = new ServiceAccounts(keys, {
      onEvent: (event) =>
        audit.record(serviceAccountAuditEvent(event.type === "revoked" ? { ...event, by } : event)),
    });
    const result = await run(accounts);
    await audit.settle();
    return result;
  } finally {
    await keys?.close();
    await store.close();
  }
}

function when(seconds: number | undefined): string {
  return seconds === undefined ? "-" : new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function registerServiceAccountCommands(program: Command): void {
  const accounts = program
    .command("service-account")
    .description("service accounts: API keys for automation, exchanged for short-lived tokens");

  accounts
    .command("create")
    .description("create an API key for a service account and print it once on stdout")
    .argument("<account>", "the service account's name, e.g. ci-deployer")
    .requiredOption("-c, --config <file>", "configuration file", "sluice.yaml")
    .option("--groups <groups>", "comma-separated groups the key's tokens carry", "")
    .option("--expires <duration>", "lifetime of the key, e.g. 90d", "90d")
    .option("--description <text>", "what the key is for")
    .action(
      async (
        account: string,
        options: { config: string; groups: string; expires: string; description?: string },
      ) => {
        const ttlSeconds = parseDuration(options.expires);
        if (ttlSeconds === undefined || ttlSeconds <= 0 || ttlSeconds > 3 * 365 * 86_400) {
          throw new SluiceError(
            "SLUICE_CLI_USAGE",
            `--expires: "${options.expires}" is not a duration up to 3y`,
          );
        }
        const created = await withAccounts(options.config, (service) =>
          service
            .create({
              account,
              groups: list(options.groups),
              ttlSeconds,
              createdBy: process.env.USER ?? "cli",
              ...(options.description === undefined ? {} : { description: options.description }),
            })
            .catch((error: unknown) => {
              throw new SluiceError(
                "SLUICE_CLI_USAGE",
                error instanceof Error ? error.message : String(error),
              );
            }),
        );
        process.stderr.write(
          `Created key ${created.record.id} for ${account} (groups: ${created.record.groups.join(", ") || "none"}; expires ${when(created.record.expiresAt)}).\nThis is the only time the key is shown; store it as a secret.\n`,
        );
        process.stdout.write(`${created.key}\n`);
      },
    );

  accounts
    .command("list")
    .description("list API keys (never their secrets)")
    .requiredOption("-c, --config <file>", "configuration file", "sluice.yaml")
    .option("--account <account>", "only this service account")
    .option("--json", "one JSON object per line")
    .action(async (options: { config: string; account?: string; json?: boolean }) => {
      const keys = await withAccounts(options.config, (service) => service.list(options.account));
      const now = Math.floor(Date.now() / 1000);
      for (const key of keys) {
        const status = key.revokedAt !== undefined ? "revoked" : key.expiresAt <= now ? "expired" : "active";
        if (options.json) {
          const { secretHash: _hidden, ...visible } = key;
          process.stdout.write(`${JSON.stringify({ ...visible, status })}\n`);
        } else {
          process.stdout.write(
            `${key.id}  ${key.account}  ${status}  groups=${key.groups.join(",") || "-"}  expires=${when(key.expiresAt)}  last_used=${when(key.lastUsedAt)}\n`,
          );
        }
      }
    });

  accounts
    .command("revoke")
    .description("revoke an API key; tokens already exchanged for it stop working too")
    .argument("<key-id>", "the key's id (from list)")
    .requiredOption("-c, --config <file>", "configuration file", "sluice.yaml")
    .action(async (keyId: string, options: { config: string }) => {
      const revoked = await withAccounts(options.config, (service) =>
        service.revoke(keyId, process.env.USER ?? "cli"),
      );
      if (!revoked) throw new SluiceError("SLUICE_CLI_USAGE", `no active key ${keyId}`);
      process.stderr.write(`Revoked key ${keyId}\n`);
    });
}

interface ExchangeOptions {
  gateway?: string;
  actor?: string;
  groups?: string;
  ttl?: string;
}

/**
 * `sluice token exchange`: the API key in $SLUICE_API_KEY for a short-lived token on stdout, or,
 * with `--actor`, a token for an agent acting for the person logged in with `sluice login`.
 */
export function registerTokenExchange(token: Command): void {
  token
    .command("exchange")
    .description(
      "exchange the API key in $SLUICE_API_KEY, or with --actor your login, for a short-lived gateway token (stdout)",
    )
    .option("--gateway <url>", "the gateway's HTTP address (with --actor: default, the one you logged in to)")
    .option("--actor <name>", "mint a token for this agent acting for you (from your sluice login)")
    .option("--groups <groups>", "with --actor: only these of your groups, comma-separated")
    .option("--ttl <duration>", "with --actor: lifetime such as 30m (capped by tokens.max_ttl)")
    .action(async (options: ExchangeOptions) => {
      if (options.actor !== undefined) return exchangeForAgent(options);
      if (options.groups !== undefined || options.ttl !== undefined) {
        throw new SluiceError("SLUICE_CLI_USAGE", "--groups and --ttl go with --actor");
      }
      if (options.gateway === undefined) throw new SluiceError("SLUICE_CLI_USAGE", "--gateway is required");
      const apiKey = process.env.SLUICE_API_KEY;
      if (apiKey === undefined || apiKey === "") {
        throw new SluiceError("SLUICE_CLI_USAGE", "set SLUICE_API_KEY (never pass keys as arguments)");
      }
      const url = new URL(options.gateway);
      if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
        throw new SluiceError("SLUICE_CLI_USAGE", "--gateway: https, or http on loopback only");
      }
      let response: Response;
      try {
        response = await fetch(`${url.origin}/token/api-key`, {
          method: "POST",
          headers: { authorization: `Bearer ${apiKey}` },
          redirect: "error",
          signal: AbortSignal.timeout(30_000),
        });
      } catch {
        throw new SluiceError("SLUICE_CLI_LOGIN", `cannot reach the gateway at ${url.origin}`);
      }
      const body = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string };
      if (!response.ok || body.access_token === undefined) {
        throw new SluiceError(
          "SLUICE_CLI_LOGIN",
          `the gateway refused the key: ${body.error ?? response.status}`,
        );
      }
      process.stdout.write(`${body.access_token}\n`);
    });
}

async function exchangeForAgent(options: ExchangeOptions): Promise<void> {
  const ttlSeconds = options.ttl === undefined ? undefined : parseDuration(options.ttl);
  if (options.ttl !== undefined && (ttlSeconds === undefined || ttlSeconds <= 0)) {
    throw new SluiceError("SLUICE_CLI_USAGE", `--ttl: "${options.ttl}" is not a duration like 30m`);
  }
  const { gateway, login } = await currentLogin(new CredentialCache(), options.gateway);
  let response: Response;
  try {
    response = await fetch(`${gateway}/token/exchange`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: login.accessToken,
        subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
        actor: options.actor,
        ...(options.groups === undefined ? {} : { groups: list(options.groups) }),
        ...(ttlSeconds === undefined ? {} : { expires_in: ttlSeconds }),
      }),
      redirect: "error",
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw new SluiceError("SLUICE_CLI_LOGIN", `cannot reach the gateway at ${gateway}`);
  }
  const body = (await response.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
    error_description?: string;
    user?: string;
    groups?: string[];
    expires_in?: number;
  };
  if (!response.ok || body.access_token === undefined) {
    throw new SluiceError(
      "SLUICE_CLI_LOGIN",
      `the gateway refused the exchange: ${body.error_description ?? body.error ?? response.status}`,
    );
  }
  process.stderr.write(
    `Token for ${body.user} acting for ${login.user} (groups: ${(body.groups ?? []).join(", ") || "none"}; expires in ${body.expires_in}s).\n`,
  );
  process.stdout.write(`${body.access_token}\n`);
}
