/**
 * Runs SQL for an MCP caller the way psql would: as a PostgreSQL client of the gateway's own
 * PostgreSQL listener, logged in with the caller's token. Every statement therefore goes through
 * the same session, analysis, policy, masking, recording and audit as any other client's; this
 * module adds nothing to that path and skips none of it.
 *
 * The connection always uses TLS, pinned to the gateway's own certificate: the token never
 * crosses even the loopback interface in clear text, and a listener that is not the gateway
 * (another process on the port) is refused before the token is sent.
 */
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import type { PeerCertificate } from "node:tls";
import pg from "pg";
import { CappedQuery, type ResultCaps, type StatementResult } from "./capped-query.ts";

export interface LoopbackTarget {
  /** The PostgreSQL listener's bound address (a wildcard address means loopback). */
  readonly host: string;
  readonly port: number;
  /** The listener's certificate (PEM; a chain's first certificate is the one pinned). */
  readonly certificatePem: string;
}

export interface LoopbackRun {
  readonly user: string;
  readonly token: string;
  readonly connection: string;
  readonly sql: string;
  readonly caps: ResultCaps;
  /** Gives up (closing the session) after this long. */
  readonly timeoutMs: number;
  /** Shown in the session's `application_name`. */
  readonly applicationName: string;
}

/** The host to dial for a bound address: wildcards become the loopback address of their family. */
export function dialHost(bound: string): string {
  if (bound === "0.0.0.0" || bound === "") return "127.0.0.1";
  if (bound === "::" || bound === "[::]") return "::1";
  return bound;
}

export class LoopbackPostgres {
  readonly #host: string;
  readonly #port: number;
  readonly #ca: string;
  readonly #fingerprint: string;
  readonly #clients = new Set<pg.Client>();

  constructor(target: LoopbackTarget) {
    this.#host = dialHost(target.host);
    this.#port = target.port;
    this.#ca = target.certificatePem;
    this.#fingerprint = new X509Certificate(target.certificatePem).fingerprint256;
  }

  /** Runs `sql` as one simple query; rejects with `QueryFailed` when the server refused it. */
  async run(request: LoopbackRun): Promise<StatementResult[]> {
    const fingerprint = this.#fingerprint;
    const client = new pg.Client({
      host: this.#host,
      port: this.#port,
      user: request.user,
      password: request.token,
      database: request.connection,
      application_name: request.applicationName.slice(0, 63),
      connectionTimeoutMillis: request.timeoutMs,
      ssl: {
        ca: this.#ca,
        // The pinned certificate is the trust anchor even when a CA issued it.
        allowPartialTrustChain: true,
        // Names do not matter on loopback: the certificate must be exactly the gateway's.
        checkServerIdentity: (_host: string, cert: PeerCertificate) =>
          cert.fingerprint256 === fingerprint
            ? undefined
            : new Error("the PostgreSQL listener did not present the gateway's certificate"),
        ...(isIP(this.#host) === 0 ? { servername: this.#host } : {}),
      },
    });
    this.#clients.add(client);
    // Errors after the query settled (the socket closing) must not crash the process.
    client.on("error", () => {});
    const timer = setTimeout(() => void destroy(client), request.timeoutMs);
    // A statement held for approval: the agent gets the request id at once instead of waiting.
    const held = new Promise<never>((_, reject) => {
      client.on("notice", (notice: { message?: string | undefined }) => {
        const id = /approval required \(request ([0-9a-f-]{36})\)/.exec(notice.message ?? "")?.[1];
        if (id === undefined) return;
        reject(new ApprovalHeld(id));
        void destroy(client);
      });
    });
    held.catch(() => {});
    try {
      await client.connect();
      const query = new CappedQuery(request.sql, request.caps);
      // `pg` accepts any object with `submit` (a "submittable", as pg-cursor is) and returns it.
      client.query(query as unknown as pg.Submittable);
      return await Promise.race([query.done, held, closed(client)]);
    } finally {
      clearTimeout(timer);
      this.#clients.delete(client);
      await client.end().catch(() => {});
    }
  }

  /** Ends every session still running (the gateway is closing). */
  async close(): Promise<void> {
    await Promise.all([...this.#clients].map((c) => destroy(c)));
  }
}

async function destroy(client: pg.Client): Promise<void> {
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  stream?.destroy();
  await client.end().catch(() => {});
}

/** The statement waits for an approval request; the session was ended (the request stays open). */
export class ApprovalHeld extends Error {
  constructor(readonly requestId: string) {
    super(`held for approval request ${requestId}`);
  }
}

/** Rejects when the session ends before the query settled (timeout, gateway closing). */
function closed(client: pg.Client): Promise<never> {
  return new Promise((_, reject) => {
    client.once("end", () => reject(new Error("the gateway ended the session before the query finished")));
  });
}
