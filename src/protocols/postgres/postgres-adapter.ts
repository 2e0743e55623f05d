import { randomInt } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { SecureContext } from "node:tls";
import type { Connection, GatePort, ProtocolAdapter, SessionContext } from "../../core/index.ts";
import { SluiceError } from "../../core/index.ts";
import { createMasker } from "../../masking/index.ts";
import { clientHandshake } from "./client-handshake.ts";
import { authenticationOk, backendKeyData, errorResponse, readyForQuery } from "./codec/backend-messages.ts";
import { PgCatalog } from "./masking/catalog.ts";
import { catalogConnection } from "./masking/catalog-connection.ts";
import { ResultLog } from "./masking/result-log.ts";
import { ResultMasker } from "./masking/result-masker.ts";
import { StatementPlanner } from "./masking/statement-plan.ts";
import { PgSession, type PgSessionOptions } from "./pg-session.ts";
import { PostgresAnalyser, type StatementCache } from "./sql/index.ts";
import { cancelUpstream, connectUpstream, UpstreamError } from "./upstream-connection.ts";

export interface PostgresAdapterOptions {
  readonly gate: GatePort;
  readonly secureContext: SecureContext | null;
  /** Refuse password logins outside TLS (the default; only tests of plain clients turn it off). */
  readonly requireTls: boolean;
  readonly maxMessageBytes: number;
  readonly maxBatchBytes: number;
  readonly maxConnections: number;
  readonly upstreamTimeoutMs: number;
  /** The key of the `hash` mask strategy (at least 16 bytes). */
  readonly maskHashKey?: string;
  readonly log: (message: string) => void;
}

/** Client startup parameters relayed to the server; everything else is dropped or refused. */
const RELAYED_PARAMS = ["application_name", "extra_float_digits", "datestyle", "intervalstyle", "timezone"];

interface LiveSession {
  readonly session: PgSession;
  readonly context: SessionContext;
  readonly connection: Connection;
  readonly upstreamKey: { processId: number; secretKey: number } | null;
}

/** The PostgreSQL front end: speaks the wire protocol to clients and relays to the target. */
export class PostgresAdapter implements ProtocolAdapter {
  readonly protocol = "postgres";
  readonly analyser: PostgresAnalyser;
  private readonly cache: StatementCache;
  private server: Server | null = null;
  private readonly live = new Map<string, LiveSession>();
  private readonly sockets = new Set<Socket>();
  /** Per connection name: the catalog masking reads, over the gateway's own connection. */
  private readonly catalogs = new Map<string, { catalog: PgCatalog; close: () => Promise<void> }>();

  constructor(private readonly o: PostgresAdapterOptions) {
    this.analyser = new PostgresAnalyser();
    this.cache = this.analyser.cache;
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    server.maxConnections = this.o.maxConnections;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        const address = server.address();
        resolve({ host, port: typeof address === "object" && address ? address.port : port });
      });
    });
  }

  terminateSessions(shouldEnd: (session: SessionContext) => string | undefined): number {
    let ended = 0;
    for (const { session, context } of [...this.live.values()]) {
      const reason = shouldEnd(context);
      if (reason === undefined) continue;
      session.terminate(reason);
      ended++;
    }
    return ended;
  }

  async close(): Promise<void> {
    for (const { session } of this.live.values()) session.terminate("the gateway is shutting down");
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await Promise.all([...this.catalogs.values()].map((c) => c.close()));
  }

  private catalogFor(connection: Connection): PgCatalog {
    let entry = this.catalogs.get(connection.name);
    if (entry === undefined) {
      const db = catalogConnection(connection.target);
      entry = { catalog: new PgCatalog(db.query), close: db.close };
      this.catalogs.set(connection.name, entry);
    }
    return entry.catalog;
  }

  /**
   * Result handling for a session where mask rules can apply or that is recorded; undefined for
   * the others, whose results are relayed untouched.
   */
  private resultsFor(session: SessionContext): PgSessionOptions["results"] {
    const masks = this.o.gate.sessionMasks(session);
    const recordedRows = this.o.gate.recordedRows(session);
    if (masks.length === 0 && recordedRows === 0) return undefined;
    const hash = this.o.maskHashKey === undefined ? {} : { hashKey: this.o.maskHashKey };
    const catalog = this.catalogFor(session.connection);
    return {
      planner: new StatementPlanner({ catalog, sessionMasks: masks, ...hash }),
      tracker: new ResultMasker({
        catalog,
        sessionMasker: createMasker(masks, hash),
        onCounts: (plan, counts) => {
          if (plan.masker !== undefined) this.o.gate.recordMasking(session, plan.action, counts);
        },
        ...(recordedRows > 0
          ? {
              results: new ResultLog(
                (plan, result) => this.o.gate.recordResult(session, plan.action, result),
                recordedRows,
              ),
            }
          : {}),
        log: this.o.log,
      }),
    };
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setTimeout(30_000, () => {
      // Only the start-up may be slow to the point of a timeout; a live session clears this.
      socket.destroy();
    });
    this.startSession(socket).catch((error: unknown) => {
      if (!(error instanceof UpstreamError) && !(error instanceof SluiceError)) {
        this.o.log(`postgres: start-up failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      socket.destroy();
    });
  }

  private async startSession(raw: Socket): Promise<void> {
    const hello = await clientHandshake(raw, {
      secureContext: this.o.secureContext,
      requireTls: this.o.requireTls,
    });
    if (hello.kind === "cancel") {
      const target = this.live.get(cancelKey(hello.processId, hello.secretKey));
      // A statement held for approval has not reached the server: stop the wait instead.
      if (target !== undefined && !target.session.cancelHold() && target.upstreamKey) {
        cancelUpstream(target.connection.target, target.upstreamKey);
      }
      raw.destroy();
      return;
    }
    const client = hello.socket;
    const fatal = (code: string, message: string): void => {
      client.end(errorResponse({ severity: "FATAL", code, message: `sluice: ${message}` }));
    };
    if (hello.params.replication !== undefined || hello.params.options !== undefined) {
      fatal("0A000", "replication connections and startup options are not supported through the gateway");
      return;
    }
    const connectionName = hello.params.database ?? hello.params.user ?? "";
    let auth: Awaited<ReturnType<GatePort["authenticate"]>>;
    try {
      auth = await this.o.gate.authenticate(hello.password, connectionName, "postgres");
    } catch (error) {
      const message = error instanceof SluiceError && error.expose ? error.message : "authentication failed";
      fatal(
        error instanceof SluiceError && error.code === "SLUICE_UNKNOWN_CONNECTION" ? "3D000" : "28P01",
        message,
      );
      return;
    }
    const startupParams: Record<string, string> = {
      client_encoding: "UTF8",
      standard_conforming_strings: "on",
    };
    for (const [key, value] of Object.entries(hello.params)) {
      if (RELAYED_PARAMS.includes(key.toLowerCase())) startupParams[key] = value;
    }
    let upstream: Awaited<ReturnType<typeof connectUpstream>>;
    try {
      upstream = await connectUpstream(auth.connection.target, startupParams, {
        timeoutMs: this.o.upstreamTimeoutMs,
        maxMessageBytes: this.o.maxMessageBytes,
      });
    } catch (error) {
      const message = error instanceof UpstreamError ? error.message : "cannot reach the database";
      this.o.log(`postgres: connection ${auth.connection.name} unavailable: ${message}`);
      fatal("08006", `connection "${auth.connection.name}" is unavailable: ${message}`);
      return;
    }
    raw.setTimeout(0);
    let session: SessionContext;
    try {
      session = this.o.gate.openSession(auth.principal, auth.connection, raw.remoteAddress ?? "unknown");
    } catch (error) {
      upstream.socket.destroy();
      const message =
        error instanceof SluiceError && error.expose ? error.message : "the session could not be opened";
      this.o.log(`postgres: session refused: ${message}`);
      fatal("XX000", message);
      return;
    }
    let masking: PgSessionOptions["results"];
    try {
      masking = this.resultsFor(session);
    } catch (error) {
      // A mask rule that cannot be applied (a bad hash key, an unknown detector): no session.
      this.o.log(`postgres: masking unavailable: ${error instanceof Error ? error.message : String(error)}`);
      upstream.socket.destroy();
      fatal("XX000", "masking is misconfigured on this gateway, so no session can be opened");
      this.o.gate.closeSession(session, "masking misconfigured");
      return;
    }
    const processId = randomInt(1, 2 ** 31 - 1);
    const secretKey = randomInt(1, 2 ** 31 - 1);
    const key = cancelKey(processId, secretKey);
    const pg = new PgSession({
      gate: this.o.gate,
      session,
      analyser: this.cache,
      client,
      upstream: upstream.socket,
      maxMessageBytes: this.o.maxMessageBytes,
      maxBatchBytes: this.o.maxBatchBytes,
      log: this.o.log,
      onClose: () => this.live.delete(key),
      ...(masking === undefined ? {} : { results: masking }),
    });
    this.live.set(key, {
      session: pg,
      context: session,
      connection: auth.connection,
      upstreamKey: upstream.backendKey,
    });
    client.cork();
    client.write(authenticationOk());
    for (const message of upstream.parameterMessages) client.write(message);
    client.write(backendKeyData(processId, secretKey));
    client.write(readyForQuery("I"));
    client.uncork();
    pg.start(upstream.leftover.map((m) => m.raw));
  }
}

const cancelKey = (processId: number, secretKey: number): string => `${processId}:${secretKey}`;
