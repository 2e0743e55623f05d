import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { ApprovalNotifier, ApprovalService, approvalNotice } from "../approvals/index.ts";
import { AuditLog, RetentionJob, type RetentionSummary } from "../audit/index.ts";
import type { SluiceConfig } from "../config/index.ts";
import { createConsole } from "../console/index.ts";
import { ApprovalGate, Gate } from "../gate/index.ts";
import {
  loadOrCreateSigningKey,
  PublicKeySet,
  TokenIssuer,
  TokenVerifier,
  verificationKeys,
  verifyAuditHead,
  verifyRecordingSeal,
} from "../identity/index.ts";
import { McpEndpoint } from "../mcp/index.ts";
import { loadPolicyBundle, PolicyEngine } from "../policy/index.ts";
import { loadSqlParser, PostgresAdapter } from "../protocols/postgres/index.ts";
import {
  FileRecordingStore,
  PostgresRecordingStore,
  type RecordingStore,
  SessionRecorder,
} from "../recording/index.ts";
import { openStore, PostgresStore, type Store } from "../store/index.ts";
import { createApprovalRoutes } from "./approval-routes.ts";
import { AuditCheckpointer } from "./audit-checkpointer.ts";
import { createAuditSink } from "./audit-sinks.ts";
import { ADMIN_GROUP, createHttpServer } from "./http-server.ts";
import { createGatewayIdentity, type GatewayIdentity, originOf } from "./identity-wiring.ts";
import { PolicyReloader, type PolicyReloadResult, type PolicyReloadTrigger } from "./policy-reloader.ts";
import { SessionRevoker } from "./session-revoker.ts";
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
  /** Login sessions and credential checks (gateway tokens, trusted issuers, revocation). */
  readonly identity: GatewayIdentity;
  /** The gateway's HTTP origin as clients reach it (`identity.public_url`, else the bound address). */
  readonly publicUrl: string;
  /**
   * Applies audit retention now (after any run in progress); `now` moves the clock. Undefined when
   * no retention is configured or the run failed (it is logged).
   */
  applyAuditRetention(now?: Date): Promise<RetentionSummary | undefined>;
  /** Signs the audit chain's head into it now (also done periodically and when closing). */
  checkpointAudit(): Promise<void>;
  /** Exports everything recorded so far to every audit sink. */
  drainAuditSinks(): Promise<void>;
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
  // Keys rotated out still verify what they signed until they are removed from the configuration.
  const publicKeys = await verificationKeys(signingKey, config.signingKey.previousPaths);
  const keys = await PublicKeySet.of(publicKeys);
  const verifier = new TokenVerifier(keys, config.tokens);
  const issuer = new TokenIssuer(signingKey, config.tokens);
  let publicUrl = config.identity.publicUrl ?? "";
  let revoker: SessionRevoker | undefined;
  const store = openStore(config.store, { log });
  // A store that cannot be reached (or has a newer format) stops the start, rather than every command.
  await store.ready().catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const audit = new AuditLog(store);
  // Login sessions and API keys live in the store; identity events go into the audit trail.
  const identity = await createGatewayIdentity(config, {
    issuer,
    verifier,
    store,
    audit,
    publicUrl: () => publicUrl,
    log,
    // A session ended in this process (or, on a shared store, in another) closes its live
    // protocol sessions at once.
    onLoginEvent: (event) => {
      if (event.type !== "login" && event.type !== "refresh") revoker?.check();
    },
    onRevokedElsewhere: () => revoker?.check(),
  }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const sinks = config.audit.sinks.map((sink) => createAuditSink(sink, { store, log }));
  const checkpointer = new AuditCheckpointer(
    store,
    audit,
    signingKey,
    config.audit.checkpointIntervalSeconds * 1000,
    log,
  );
  const retention = config.audit.retention
    ? new RetentionJob(store, config.audit.retention, config.audit.retentionIntervalSeconds * 1000, log)
    : undefined;
  const reloader = new PolicyReloader({
    dir: config.policies,
    engine: policy,
    timeZone: config.policy.timeZone,
    audit,
    log,
    ...(options.policyReloadDebounceMs === undefined ? {} : { debounceMs: options.policyReloadDebounceMs }),
  });
  const tls = await loadTlsMaterial(config.tls, dirname(config.signingKey.path));
  const recordings = config.recordings;
  const recordingStore = recordings.enabled ? recordingStoreOf(config, store) : undefined;
  const recorder = recordingStore
    ? new SessionRecorder({
        store: recordingStore,
        signingKey,
        maxBytesPerSession: recordings.maxBytesPerSession,
        maxRowsPerStatement: recordings.maxRowsPerStatement,
        log,
        onFailure: ({ sessionId, error }) =>
          log(`recording of session ${sessionId} failed: ${error.message}`),
      })
    : undefined;
  const notifier =
    config.approvals.notifications.length === 0
      ? undefined
      : new ApprovalNotifier(config.approvals.notifications, { log });
  const approvals = new ApprovalService({
    store,
    audit,
    grants: config.approvals.grants,
    ...(notifier === undefined
      ? {}
      : {
          notifier: {
            notify: (request, event) => notifier.notify(approvalNotice(request, event, publicUrl)),
          },
        }),
    log,
  });
  await approvals.start();
  const gate = new Gate({
    decider: policy,
    audit,
    approvals: new ApprovalGate(approvals, (id) => `${publicUrl}/approvals/${id}`),
    approvalHoldMs: config.approvals.holdSeconds * 1000,
    verifyCredential: (token) => identity.credentials.verify(token),
    connections: new Map(config.connections.map((c) => [c.name, c])),
    log,
    ...(recorder === undefined ? {} : { recorder, recordedRowsPerStatement: recordings.maxRowsPerStatement }),
  });
  const postgres = new PostgresAdapter({
    gate,
    secureContext: tls.context,
    requireTls: !options.allowPlaintext,
    maxMessageBytes: config.limits.maxMessageBytes,
    maxBatchBytes: config.limits.maxBatchBytes,
    maxConnections: config.limits.maxConnections,
    upstreamTimeoutMs: 10_000,
    ...(config.masking.hashKey === undefined ? {} : { maskHashKey: config.masking.hashKey }),
    log,
  });
  revoker = new SessionRevoker({
    adapters: [postgres],
    isRevoked: (id) => identity.isSessionRevoked(id),
    intervalMs: config.identity.revocationCheckIntervalSeconds * 1000,
    leewaySeconds: config.tokens.leewaySeconds,
    log,
  });
  await loadSqlParser();
  const pgAddress = await postgres.listen(config.listeners.postgres.host, config.listeners.postgres.port);
  // MCP tools run SQL as clients of the PostgreSQL listener above: one data path for every client.
  const mcp = new McpEndpoint({
    gate,
    authenticate: (token) => identity.credentials.verify(token),
    connections: config.connections,
    analysers: [postgres.analyser],
    couldAllow: (probe) => policy.couldAllow(probe),
    postgres: { ...pgAddress, certificatePem: readFileSync(tls.certPath, "utf8") },
    publicUrl: () => publicUrl,
    approvals: {
      async status(id, principal) {
        const request = /^[0-9a-f-]{36}$/.test(id) ? await approvals.get(id) : undefined;
        const mine =
          request !== undefined &&
          (request.requester.user === principal.user ||
            request.requester.onBehalfOf?.user === principal.user);
        if (!mine) return undefined;
        return {
          status: request.state,
          message: `request ${request.id} is ${request.state}; review: ${publicUrl}/approvals/${request.id}`,
        };
      },
    },
    log,
  });
  // The web console (docs/console.md): pages, files, JSON APIs and approval events.
  const webConsole = createConsole({
    publicUrl: () => publicUrl,
    listenerPorts: () => ({ postgres: pgAddress.port }),
    providers: () => config.identity.providers.map((p) => p.name),
    authenticateToken: (token) => identity.credentials.verify(token),
    authenticateSession: async (cookie) => {
      const info = await identity.logins.describe(cookie);
      return { user: info.user, groups: info.groups, kind: info.kind, loginSessionId: info.sessionId };
    },
    privilegedGroups: [ADMIN_GROUP, "auditors"],
    connections: config.connections,
    policy,
    policyDir: config.policies,
    analysers: [postgres.analyser],
    store,
    getApproval: (id) => approvals.get(id),
    ...(recordingStore === undefined ? {} : { recordings: recordingStore }),
    verifySeal: async (jws) => {
      const result = await verifyRecordingSeal(jws, keys);
      return result.ok ? { ok: true, seal: result.seal } : result;
    },
    verifySignedHead: async (jws) => {
      const result = await verifyAuditHead(jws, keys);
      return result.ok ? { ok: true, head: result.head } : result;
    },
    log,
  });
  await webConsole.start();
  const approvalRoutes = createApprovalRoutes({
    service: approvals,
    authenticate: (token) => identity.credentials.verify(token),
    authenticateRequest: (req) => webConsole.authenticateRequest(req),
    connections: new Map(config.connections.map((c) => [c.name, c])),
    log,
  });
  const http = createHttpServer({
    jwks: () => publicKeys,
    policyVersion: () => policy.version,
    admin: {
      authenticate: (token) => identity.credentials.verify(token),
      reloadPolicy: (by) => reloader.reload("admin-api", by),
    },
    routes: (req, res, url) =>
      mcp.handle(req, res, url) ||
      approvalRoutes.handle(req, res, url) ||
      webConsole.handle(req, res, url) ||
      identity.routes.handle(req, res, url),
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.listeners.http.port, config.listeners.http.host, resolve);
  });
  const httpPort = (http.address() as AddressInfo).port;
  if (publicUrl === "") publicUrl = originOf(config.listeners.http.host, httpPort);
  try {
    for (const sink of sinks) await sink.start();
  } catch (error) {
    await mcp.close();
    await postgres.close();
    await recorder?.close();
    await approvals.close();
    await webConsole.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await identity.close();
    await store.close();
    throw error;
  }
  if (options.watchPolicies ?? true) reloader.watch();
  retention?.start();
  checkpointer.start();
  revoker.start();
  return {
    postgres: pgAddress,
    http: { host: config.listeners.http.host, port: httpPort },
    tlsCertPath: tls.certPath,
    policyVersion: () => policy.version,
    reloadPolicy: (reload = {}) => reloader.reload(reload.trigger ?? "call", reload.by),
    store,
    issuer,
    identity,
    publicUrl,
    applyAuditRetention: async (now) => retention?.run(now),
    checkpointAudit: () => checkpointer.checkpoint(),
    async drainAuditSinks() {
      await audit.settle();
      await Promise.all(sinks.map((sink) => sink.drain()));
    },
    async close() {
      await reloader.close();
      revoker?.close();
      await mcp.close();
      await postgres.close();
      // Every live recording ends and is sealed.
      await recorder?.close();
      await approvals.close();
      await notifier?.close();
      // Open event streams end first, or the listener would wait for them.
      await webConsole.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      // Sessions record their end as they close: write those, then export everything.
      await audit.settle();
      await retention?.close();
      await checkpointer.close();
      for (const sink of sinks) {
        await sink.close().catch((error: unknown) => log(`audit sink ${sink.name}: ${String(error)}`));
      }
      await identity.close();
      await store.close();
    },
  };
}

/** `recordings.storage`: files in `recordings.dir`, or the PostgreSQL store's database. */
function recordingStoreOf(config: SluiceConfig, store: Store): RecordingStore {
  const { recordings } = config;
  if (recordings.storage === "files") {
    return new FileRecordingStore({ dir: recordings.dir, fsync: recordings.fsync });
  }
  // The configuration allows `storage: store` only with a PostgreSQL store.
  if (!(store instanceof PostgresStore) || config.store.kind !== "postgres") {
    throw new Error("recordings.storage: store needs the PostgreSQL store");
  }
  return new PostgresRecordingStore({ store, url: config.store.url });
}
