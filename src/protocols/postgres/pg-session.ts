import type { Socket } from "node:net";
import type {
  Action,
  BatchVerdict,
  ConnectionInfo,
  Decision,
  GatePort,
  SessionContext,
} from "../../core/index.ts";
import { describeConnection } from "../../core/index.ts";
import {
  Backend,
  errorResponse,
  noticeResponse,
  parseErrorFields,
  parseParameterStatus,
} from "./codec/backend-messages.ts";
import { BackendScanner } from "./codec/backend-scanner.ts";
import {
  Frontend,
  parseBind,
  parseExecute,
  parseParse,
  parseQuery,
  parseTarget,
} from "./codec/frontend-messages.ts";
import { MessageReader, type PgMessage, PgProtocolError } from "./codec/message-reader.ts";
import type { Expectation, ResultMasker } from "./masking/result-masker.ts";
import type { StatementPlan, StatementPlanner } from "./masking/statement-plan.ts";
import { denialError, flushMessage, poisonMessage, syncMessage } from "./refusal.ts";
import { guardStatement } from "./session-guard.ts";
import type { SqlFacts, StatementAnalysis, StatementCache } from "./sql/index.ts";
import { StatementRegistry } from "./statement-registry.ts";

export interface PgSessionOptions {
  readonly gate: GatePort;
  readonly session: SessionContext;
  readonly analyser: StatementCache;
  readonly client: Socket;
  readonly upstream: Socket;
  readonly maxMessageBytes: number;
  readonly maxBatchBytes: number;
  readonly log: (message: string) => void;
  readonly onClose: () => void;
  /** Present when results must be followed: mask rules can apply, or the session is recorded. */
  readonly results?: { readonly planner: StatementPlanner; readonly tracker: ResultMasker };
}

/** Statement kinds after which the catalog cache may be stale. */
const DDL = /^(create|alter|drop|rename|comment)/;

interface PendingRefusal {
  readonly nonce: string;
  readonly error: Buffer;
  /** The sync point (count of ReadyForQuery) after which this refusal can no longer arrive. */
  readonly syncIndex: number;
}

/** Client bytes framed but not yet handled: above the high mark the client socket is paused. */
const QUEUE_HIGH_WATER = 1024 * 1024;
const QUEUE_LOW_WATER = 256 * 1024;

type Refusal = { readonly kind: "guard"; readonly reasonCode: string; readonly reason: string };

/**
 * One relayed client session after start-up. Client messages are framed and gathered into
 * batches that end at Query, Sync or Flush; every statement in a batch is judged before any byte
 * of the batch reaches the server, and a refused batch is replaced by a harmless message that
 * makes the server fail the same way (so transaction and pipeline state stay exact).
 */
export class PgSession {
  private readonly reader: MessageReader;
  private readonly scanner: BackendScanner;
  private readonly registry = new StatementRegistry();
  private readonly connectionInfo: ConnectionInfo;
  private batch: PgMessage[] = [];
  private batchBytes = 0;
  private queue: PgMessage[] = [];
  private queuedBytes = 0;
  private clientPaused = false;
  private pumping = false;
  private skipUntilSync = false;
  private syncsForwarded = 0;
  private syncsReceived = 0;
  private refusals: PendingRefusal[] = [];
  private closed = false;
  /** Aborts the wait for an approval (cancel request, session end). */
  private hold: AbortController | undefined;
  /** Gateway messages waiting for the server stream to reach a message boundary. */
  private ownMessages: Buffer[] = [];

  constructor(private readonly o: PgSessionOptions) {
    this.reader = new MessageReader(o.maxMessageBytes);
    this.connectionInfo = describeConnection(o.session.connection);
    this.scanner = new BackendScanner(
      {
        wants: (type) =>
          type === Backend.readyForQuery ||
          type === Backend.parameterStatus ||
          (type === Backend.errorResponse && this.refusals.length > 0) ||
          o.results?.tracker.wants(type) === true,
        inspect: (type, body) => this.inspectServerMessage(type, body),
        rewriteRun: (type, chunk, start) => o.results?.tracker.rewriteRun(type, chunk, start),
      },
      2 ** 30,
    );
  }

  start(leftover: readonly Buffer[]): void {
    const { client, upstream } = this.o;
    for (const chunk of leftover) this.toClient([chunk]);
    client.on("data", (chunk: Buffer) => this.onClientData(chunk));
    upstream.on("data", (chunk: Buffer) => this.onServerData(chunk));
    client.on("close", () => this.close("client disconnected"));
    upstream.on("close", () => this.serverLost());
    client.on("error", () => this.close("client connection error"));
    upstream.on("error", () => this.serverLost());
    client.on("drain", () => upstream.resume());
    upstream.on("drain", () => this.resumeClientIfIdle());
    client.resume();
    upstream.resume();
  }

  /** Ends the session from outside (shutdown, revocation). */
  terminate(message: string): void {
    if (this.closed) return;
    this.o.client.write(errorResponse({ severity: "FATAL", code: "57P01", message: `sluice: ${message}` }));
    this.close(message);
  }

  private onClientData(chunk: Buffer): void {
    let messages: PgMessage[];
    try {
      messages = this.reader.push(chunk);
    } catch (error) {
      this.protocolViolation(error);
      return;
    }
    for (const m of messages) {
      this.queue.push(m);
      this.queuedBytes += m.raw.length;
    }
    // Backpressure: stop reading from a client that sends faster than batches are judged.
    if (this.queuedBytes > QUEUE_HIGH_WATER && !this.clientPaused) {
      this.clientPaused = true;
      this.o.client.pause();
    }
    if (this.queue.length > 0) void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const message = this.queue.shift()!;
        this.queuedBytes -= message.raw.length;
        const pending = this.handleClientMessage(message);
        if (pending !== undefined) await pending;
        if (this.clientPaused && this.queuedBytes < QUEUE_LOW_WATER) this.resumeClientIfIdle();
      }
    } catch (error) {
      this.protocolViolation(error);
    } finally {
      this.pumping = false;
    }
  }

  private resumeClientIfIdle(): void {
    if (this.closed || this.o.upstream.writableNeedDrain || this.queuedBytes >= QUEUE_LOW_WATER) return;
    this.clientPaused = false;
    this.o.client.resume();
  }

  /** Returns a promise only when the message ended a batch that must be judged. */
  private handleClientMessage(message: PgMessage): Promise<void> | undefined {
    const type = message.type;
    if (this.skipUntilSync) {
      if (type === Frontend.sync) {
        this.skipUntilSync = false;
        this.o.results?.tracker.expect({ kind: "sync" });
        this.forward([message.raw], 1);
      } else if (type === Frontend.terminate) {
        this.close("client terminated");
      }
      return undefined;
    }
    switch (type) {
      case Frontend.copyData:
      case Frontend.copyDone:
      case Frontend.copyFail:
        // COPY FROM STDIN payload: data, not commands; relayed in order.
        if (this.batch.length === 0) this.forward([message.raw], 0);
        else this.addToBatch(message);
        return undefined;
      case Frontend.query:
      case Frontend.sync:
      case Frontend.flush:
        this.addToBatch(message);
        return this.judgeBatch(type);
      case Frontend.terminate:
        this.batch = [];
        this.o.upstream.write(message.raw);
        this.close("client terminated");
        return undefined;
      case Frontend.parse:
      case Frontend.bind:
      case Frontend.describe:
      case Frontend.execute:
      case Frontend.close:
      case Frontend.functionCall:
        this.addToBatch(message);
        if (this.batchBytes > this.o.maxBatchBytes) {
          // An unbounded pipeline without Sync: judge and relay what we have so far.
          return this.judgeBatch(Frontend.flush);
        }
        return undefined;
      default:
        throw new PgProtocolError(`unexpected message type ${JSON.stringify(String.fromCharCode(type))}`);
    }
  }

  private addToBatch(message: PgMessage): void {
    this.batch.push(message);
    this.batchBytes += message.raw.length;
  }

  private async judgeBatch(end: number): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const actions: Action[] = [];
    /** Per message, where its actions start in `actions`. */
    const firstAction: number[] = [];
    let refusal: Refusal | undefined;
    for (const message of batch) {
      firstAction.push(actions.length);
      refusal ??= this.collect(message, actions);
    }
    let decision: Decision | undefined;
    const plans = new Map<Action, StatementPlan>();
    if (refusal) {
      decision = await this.o.gate.refuse(this.o.session, actions, refusal.reasonCode, refusal.reason);
    } else if (actions.length > 0) {
      let verdict = await this.o.gate.judge(this.o.session, actions, (a, d) => this.review(a, d, plans));
      if (verdict.held !== undefined && verdict.held.length > 0 && !this.closed) {
        verdict = await this.holdForApproval(actions, verdict);
      }
      if (!verdict.allowed) decision = verdict.refusal;
    }
    if (this.closed) return;
    const syncs = batch.reduce(
      (n, m) => n + (m.type === Frontend.sync || m.type === Frontend.query ? 1 : 0),
      0,
    );
    if (!decision) {
      this.registry.commit();
      const chunks = this.o.results
        ? this.expectResults(batch, actions, firstAction, plans)
        : batch.map((m) => m.raw);
      this.forward(chunks, syncs);
      return;
    }
    this.registry.discard();
    this.refuseBatch(decision, end);
  }

  /**
   * Tells the client which approval requests hold its statement, then waits for them (until the
   * gateway's hold time, a cancel request, or the end of the session).
   */
  private async holdForApproval(actions: readonly Action[], verdict: BatchVerdict): Promise<BatchVerdict> {
    const minutes = Math.round(this.o.gate.approvalHoldMs / 60_000);
    for (const held of verdict.held ?? []) {
      this.writeBetweenMessages(
        noticeResponse({
          severity: "NOTICE",
          code: "00000",
          message: `sluice: approval required (request ${held.requestId}); waiting up to ${minutes} min for ${held.minApprovals} approval(s) from ${held.reviewers.join(", ")}`,
          detail: `review: ${held.url}; the request expires at ${held.expiresAt}`,
          hint: "press Ctrl-C to stop waiting; once approved, the same statement can be run again",
        }),
      );
    }
    const hold = new AbortController();
    this.hold = hold;
    try {
      return await this.o.gate.awaitApprovals(this.o.session, actions, verdict, { signal: hold.signal });
    } finally {
      this.hold = undefined;
    }
  }

  /**
   * Writes a message of the gateway's own to the client where it cannot split a server message:
   * at once when the relayed stream is between messages, else right after the next boundary.
   */
  private writeBetweenMessages(message: Buffer): void {
    if (this.scanner.atBoundary) this.o.client.write(message);
    else this.ownMessages.push(message);
  }

  /** A cancel request from the client: stops waiting for an approval. False when nothing waits. */
  cancelHold(): boolean {
    if (this.hold === undefined) return false;
    this.hold.abort();
    return true;
  }

  /**
   * The gate's review: plans masked statements (catalog, lineage) and refuses what masking cannot
   * make safe. In a session opened before mask rules existed, a masked statement is refused.
   */
  private async review(
    actions: readonly Action[],
    decisions: readonly Decision[],
    plans: Map<Action, StatementPlan>,
  ): Promise<readonly Decision[]> {
    const planner = this.o.results?.planner;
    const out: Decision[] = [];
    for (let i = 0; i < actions.length; i++) {
      const action = actions[i]!;
      const decision = decisions[i]!;
      // A held statement may run later: it is planned like an allowed one.
      if (decision.effect === "deny") {
        out.push(decision);
        continue;
      }
      if (planner === undefined) {
        out.push(
          decision.masks?.length
            ? maskRefusal(
                decision,
                "masking-not-ready",
                "mask rules changed after this session started; reconnect",
              )
            : decision,
        );
        continue;
      }
      const { plan, refusal } = await planner.plan(action, decision);
      plans.set(action, plan);
      out.push(refusal ? maskRefusal(decision, refusal.code, refusal.reason) : decision);
    }
    return out;
  }

  /**
   * Tells the result masker what the server will answer, in order, and describes every masked
   * Execute's portal first (its RowDescription is swallowed) so its rows can be read.
   */
  private expectResults(
    batch: readonly PgMessage[],
    actions: readonly Action[],
    firstAction: readonly number[],
    plans: ReadonlyMap<Action, StatementPlan>,
  ): Buffer[] {
    const { planner, tracker: results } = this.o.results!;
    const chunks: Buffer[] = [];
    const planOf = (index: number): StatementPlan | undefined => {
      const action = actions[index];
      return action === undefined ? undefined : plans.get(action);
    };
    batch.forEach((message, m) => {
      const from = firstAction[m]!;
      const to = firstAction[m + 1] ?? actions.length;
      let expectation: Expectation | undefined;
      switch (message.type) {
        case Frontend.query: {
          const statements: StatementPlan[] = [];
          for (let i = from; i < to; i++) {
            const plan = planOf(i) ?? { action: actions[i]!, masks: [], sensitive: true };
            statements.push(plan);
          }
          expectation = { kind: "query", statements, index: 0 };
          break;
        }
        case Frontend.describe: {
          const { target, name } = parseTarget(message.body);
          expectation = { kind: "describe", portal: target === "portal" ? name : undefined, swallow: false };
          break;
        }
        case Frontend.execute: {
          const portal = parseExecute(message.body).portal;
          const plan = planOf(from);
          if (plan?.masker !== undefined) {
            chunks.push(describePortal(portal));
            results.expect({ kind: "describe", portal, swallow: true });
          }
          expectation = { kind: "execute", portal, plan };
          break;
        }
        case Frontend.sync:
          expectation = { kind: "sync" };
          break;
        default:
          break;
      }
      if (expectation) results.expect(expectation);
      chunks.push(message.raw);
    });
    for (const action of actions) {
      const plan = plans.get(action);
      if (plan) planner.remember(plan);
      const kind = (action.facts.sql as { statement_kind?: unknown } | undefined)?.statement_kind;
      if (typeof kind === "string" && DDL.test(kind)) planner.catalog.clear();
    }
    return chunks;
  }

  /** Turns one batch message into actions; returns a refusal the adapter makes on its own. */
  private collect(message: PgMessage, actions: Action[]): Refusal | undefined {
    switch (message.type) {
      case Frontend.query:
        return this.collectStatements(this.o.analyser.analyse(parseQuery(message.body)).statements, actions);
      case Frontend.parse: {
        const { name, text } = parseParse(message.body);
        const analysis = this.o.analyser.analyse(text);
        this.registry.parse(name, { text, statements: analysis.statements });
        return undefined;
      }
      case Frontend.bind: {
        const { portal, statement } = parseBind(message.body);
        this.registry.bind(portal, statement);
        return undefined;
      }
      case Frontend.close: {
        const { target, name } = parseTarget(message.body);
        this.registry.close(target, name);
        return undefined;
      }
      case Frontend.describe:
        parseTarget(message.body);
        return undefined;
      case Frontend.execute: {
        const statement = this.registry.statementForPortal(parseExecute(message.body).portal);
        if (!statement) {
          return {
            kind: "guard",
            reasonCode: "unknown-statement",
            reason: "execute of a statement the gateway has not seen",
          };
        }
        return this.collectStatements(statement.statements, actions);
      }
      case Frontend.functionCall:
        return {
          kind: "guard",
          reasonCode: "function-call-refused",
          reason: "the fast-path function call protocol is not allowed through the gateway",
        };
      default:
        return undefined;
    }
  }

  private collectStatements(
    statements: readonly StatementAnalysis[],
    actions: Action[],
  ): Refusal | undefined {
    let refusal: Refusal | undefined;
    for (const statement of statements) {
      const facts = this.resolvePrepared(statement.facts);
      actions.push(this.action(statement.text, facts));
      refusal ??= guardStatement(facts);
    }
    return refusal;
  }

  /** EXECUTE name runs what PREPARE name said: judge it by those facts. */
  private resolvePrepared(facts: SqlFacts): SqlFacts {
    const name = facts.prepared_name;
    if (name === null) return facts;
    if (facts.statement_kind === "prepare") {
      this.registry.prepareSql(name, facts);
      return facts;
    }
    if (facts.statement_kind === "deallocate") {
      this.registry.deallocateSql(name === "all" ? null : name);
      return facts;
    }
    if (facts.statement_kind !== "execute") return facts;
    const prepared = this.registry.sqlStatement(name);
    if (!prepared) return facts;
    return {
      ...prepared,
      statement_kind: "execute",
      // What runs is the prepared statement, not the PREPARE that defined it.
      kinds: [...new Set(["execute", ...prepared.kinds.filter((k) => k !== "prepare")])].sort(),
      prepared_name: name,
      statements: facts.statements,
    };
  }

  private action(text: string, facts: SqlFacts): Action {
    return {
      kind: "sql.statement",
      protocol: "postgres",
      text,
      facts: { sql: facts as unknown as Action["facts"][string] },
      principal: this.o.session.principal,
      connection: this.connectionInfo,
      sessionId: this.o.session.id,
    };
  }

  private refuseBatch(decision: Decision, end: number): void {
    const error = denialError(decision, this.o.session.id);
    const poison = poisonMessage();
    const closesSegment = end === Frontend.query || end === Frontend.sync;
    this.refusals.push({ nonce: poison.nonce, error, syncIndex: this.syncsForwarded + 1 });
    if (closesSegment) this.o.results?.tracker.expect({ kind: "sync" });
    this.forward([poison.describe, closesSegment ? syncMessage : flushMessage], closesSegment ? 1 : 0);
    // After an error the server ignores everything up to Sync; so do we, rather than judge it.
    if (!closesSegment) this.skipUntilSync = true;
  }

  private forward(chunks: readonly Buffer[], syncs: number): void {
    const { upstream } = this.o;
    this.syncsForwarded += syncs;
    const ok = chunks.length === 1 ? upstream.write(chunks[0]!) : upstream.write(Buffer.concat(chunks));
    if (!ok && !this.clientPaused) {
      // The server reads slower than the client sends (e.g. COPY FROM STDIN): stop reading.
      this.clientPaused = true;
      this.o.client.pause();
    }
  }

  private onServerData(chunk: Buffer): void {
    let pieces: Buffer[];
    try {
      pieces = this.scanner.scan(chunk);
    } catch (error) {
      this.o.log(`postgres: server protocol error: ${String(error)}`);
      this.terminate("the database sent an invalid message");
      return;
    }
    this.toClient(pieces);
    if (this.ownMessages.length > 0 && this.scanner.atBoundary) {
      const own = this.ownMessages;
      this.ownMessages = [];
      this.toClient(own);
    }
  }

  private toClient(pieces: readonly Buffer[]): void {
    const { client, upstream } = this.o;
    if (pieces.length === 0 || this.closed) return;
    let ok = true;
    if (pieces.length === 1) ok = client.write(pieces[0]!);
    else if (pieces.length > 8) {
      // Many small pieces (rewritten rows): one copy beats a write per piece.
      ok = client.write(Buffer.concat(pieces));
    } else {
      client.cork();
      for (const piece of pieces) ok = client.write(piece);
      client.uncork();
    }
    if (!ok) upstream.pause();
  }

  private inspectServerMessage(type: number, body: Buffer): Buffer | undefined {
    const masked = this.o.results?.tracker.inspect(type, body);
    const own = this.inspectOwn(type, body);
    return own ?? masked;
  }

  private inspectOwn(type: number, body: Buffer): Buffer | undefined {
    if (type === Backend.readyForQuery) {
      this.syncsReceived++;
      if (this.refusals.length > 0)
        this.refusals = this.refusals.filter((r) => r.syncIndex > this.syncsReceived);
      return undefined;
    }
    if (type === Backend.parameterStatus) {
      const { name, value } = parseParameterStatus(body);
      if (
        (name === "standard_conforming_strings" && value !== "on") ||
        (name === "client_encoding" && value.toUpperCase() !== "UTF8")
      ) {
        // The analyser reads SQL as UTF-8 with standard strings; a session that changed either is ended.
        setImmediate(() => this.terminate(`session ended: the server reported ${name}=${value}`));
      }
      return undefined;
    }
    if (type !== Backend.errorResponse || this.refusals.length === 0) return undefined;
    const message = parseErrorFields(body).get("M") ?? "";
    const index = this.refusals.findIndex((r) => message.includes(r.nonce));
    if (index < 0) return undefined;
    const [refusal] = this.refusals.splice(index, 1);
    return refusal!.error;
  }

  private serverLost(): void {
    if (this.closed) return;
    this.o.client.end(
      errorResponse({
        severity: "FATAL",
        code: "08006",
        message: "sluice: the connection to the database was lost",
      }),
    );
    this.close("database connection lost");
  }

  private protocolViolation(error: unknown): void {
    if (this.closed) return;
    const message = error instanceof PgProtocolError ? error.message : "invalid message";
    this.o.client.end(
      errorResponse({ severity: "FATAL", code: "08P01", message: `sluice: protocol violation: ${message}` }),
    );
    this.close(`protocol violation: ${message}`);
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.hold?.abort();
    this.o.upstream.destroy();
    if (!this.o.client.destroyed) this.o.client.end();
    this.o.gate.closeSession(this.o.session, reason);
    this.o.onClose();
  }
}

function maskRefusal(decision: Decision, reasonCode: string, reason: string): Decision {
  const { masks: _masks, ...rest } = decision;
  return { ...rest, effect: "deny", reasonCode, reason };
}

/** Describe (portal): the gateway's own, to learn an Execute's columns. */
function describePortal(portal: string): Buffer {
  const name = Buffer.from(`${portal}\0`, "utf8");
  const out = Buffer.allocUnsafe(6 + name.length);
  out[0] = 0x44;
  out.writeUInt32BE(5 + name.length, 1);
  out[5] = 0x50;
  name.copy(out, 6);
  return out;
}
