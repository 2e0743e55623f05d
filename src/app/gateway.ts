import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { AuditLog } from "../audit/index.ts";
import type { SluiceConfig } from "../config/index.ts";
import { Gate } from "../gate/index.ts";
import { loadOrCreateSigningKey, PublicKeySet, TokenIssuer, TokenVerifier } from "../identity/index.ts";
import { loadPolicyBundle, PolicyEngine } from "../policy/index.ts";
import { loadSqlParser, PostgresAdapter } from "../protocols/postgres/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { createHttpServer } from "./http-server.ts";
import { PolicyReloader, type PolicyReloadResult, type PolicyReloadTrigger } from "./policy-reloader.ts";
import { loadTlsMaterial } from "./tls-material.ts";

export interface RunningGateway {
  readonly postgres: { host: string; port: number };
  readonly http: { host: string; port: number };
  readonly tlsCertPath: string;
  readonly policyVersion: () => string;
  /**
   * Loads the policy directory again. A valid bundle replaces the current one atomically (live
   * sessions included); an invalid one is reported and the current one stays in force.
   */
  reloadPolicy(options?: { trigger?: PolicyReloadTrigger; by?: string }): Promise<PolicyReloadResult>;
  readonly store: Store;
  readonly issuer: TokenIssuer;
  close(): Promise<void>;
}

export interface GatewayOptions {
  readonly log?: (message: string) => void;
  /** Accept password logins without TLS (tests of plain clients and loopback benchmarks only). */
  readonly allowPlaintext?: boolean;
  /** Reload the policy when a file in the policy directory changes. Default true. */
  readonly watchPolicies?: boolean;
  /** Quiet time after a policy file change before reloading. Default 200 ms. */
  readonly policyReloadDebounceMs?: number;
}

/** The composition root: the one place that knows every module and wires them together. */
export async function startGateway(
  config: SluiceConfig,
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  const log = options.log ?? ((message: string) => process.stderr.write(`sluice: ${message}\n`));
  const policy = new PolicyEngine(
    await loadPolicyBundle(config.policies, { timeZone: config.policy.timeZone }),
  );
  const signingKey = await loadOrCreateSigningKey(config.signingKey.path);
  const keys = await PublicKeySet.of([signingKey.publicJwk]);
  const verifier = new TokenVerifier(keys, config.tokens);
  const issuer = new TokenIssuer(signingKey, config.tokens);
  const store = openStore(config.store);
  const audit = new AuditLog(store);
  const reloader = new PolicyReloader({
    dir: config.policies,
    engine: policy,
    timeZone: config.policy.timeZone,
    audit,
    log,
    ...(options.policyReloadDebounceMs === undefined ? {} : { debounceMs: options.policyReloadDebounceMs }),
  });
  const tls = await loadTlsMaterial(config.tls, dirname(config.signingKey.path));
  const gate = new Gate({
    decider: policy,
    audit,
    verifyCredential: (token) => verifier.verify(token),
    connections: new Map(config.connections.map((c) => [c.name, c])),
    log,
  });
  const postgres = new PostgresAdapter({
    gate,
    secureContext: tls.context,
    requireTls: !options.allowPlaintext,
    maxMessageBytes: config.limits.maxMessageBytes,
    maxBatchBytes: config.limits.maxBatchBytes,
    maxConnections: config.limits.maxConnections,
    upstreamTimeoutMs: 10_000,
    log,
  });
  await loadSqlParser();
  const pgAddress = await postgres.listen(config.listeners.postgres.host, config.listeners.postgres.port);
  const http = createHttpServer({
    jwks: () => [signingKey.publicJwk],
    policyVersion: () => policy.version,
    admin: {
      authenticate: (token) => verifier.verify(token),
      reloadPolicy: (by) => reloader.reload("admin-api", by),
    },
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.listeners.http.port, config.listeners.http.host, resolve);
  });
  const httpPort = (http.address() as AddressInfo).port;
  if (options.watchPolicies ?? true) reloader.watch();
  return {
    postgres: pgAddress,
    http: { host: config.listeners.http.host, port: httpPort },
    tlsCertPath: tls.certPath,
    policyVersion: () => policy.version,
    reloadPolicy: (reload = {}) => reloader.reload(reload.trigger ?? "call", reload.by),
    store,
    issuer,
    async close() {
      await reloader.close();
      await postgres.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await store.close();
    },
  };
}
