import { connect, type Socket } from "node:net";
import { continueSession, finalizeSession, startSession } from "pg/lib/crypto/sasl.js";
import { postgresMd5PasswordHash } from "pg/lib/crypto/utils.js";
import { serialize } from "pg-protocol";
import type { ConnectionTarget } from "../../core/index.ts";
import { Backend, parseErrorFields } from "./codec/backend-messages.ts";
import { MessageReader, type PgMessage } from "./codec/message-reader.ts";

export interface UpstreamSession {
  readonly socket: Socket;
  /** ParameterStatus messages to replay to the client, raw. */
  readonly parameterMessages: readonly Buffer[];
  readonly backendKey: { readonly processId: number; readonly secretKey: number } | null;
  /** Bytes the server sent after its first ReadyForQuery (normally none). */
  readonly leftover: readonly PgMessage[];
}

/** Why the upstream could not be reached or refused us; the message never includes secrets. */
export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    message: string,
    readonly kind: "unavailable" | "auth" | "protocol",
  ) {
    super(message);
  }
}

const AUTH_OK = 0;
const AUTH_CLEARTEXT = 3;
const AUTH_MD5 = 5;
const AUTH_SASL = 10;
const AUTH_SASL_CONTINUE = 11;
const AUTH_SASL_FINAL = 12;

/**
 * Opens a session to the target as the gateway (with the connection's own credentials: SCRAM,
 * md5, cleartext or trust, as the server asks) and stops at the first ReadyForQuery.
 */
export async function connectUpstream(
  target: ConnectionTarget,
  startupParams: Record<string, string>,
  options: { timeoutMs: number; maxMessageBytes: number },
): Promise<UpstreamSession> {
  const socket = connect({ host: target.host, port: target.port, noDelay: true });
  const reader = new MessageReader(options.maxMessageBytes);
  const password = target.password ?? "";
  const user = target.user ?? "";
  return new Promise<UpstreamSession>((resolve, reject) => {
    const parameterMessages: Buffer[] = [];
    let backendKey: UpstreamSession["backendKey"] = null;
    let sasl: ReturnType<typeof startSession> | null = null;
    let done = false;
    const timer = setTimeout(
      () => fail(new UpstreamError("timed out connecting to the database", "unavailable")),
      options.timeoutMs,
    );
    const fail = (error: UpstreamError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.on("error", (error: NodeJS.ErrnoException) =>
      fail(new UpstreamError(`cannot reach the database (${error.code ?? error.message})`, "unavailable")),
    );
    socket.on("close", () =>
      fail(new UpstreamError("the database closed the connection during start-up", "unavailable")),
    );
    socket.on("connect", () => {
      socket.write(serialize.startup({ ...startupParams, user, database: target.database ?? user }));
    });
    const handle = async (message: PgMessage): Promise<boolean> => {
      switch (message.type) {
        case Backend.authentication: {
          const code = message.body.readInt32BE(0);
          if (code === AUTH_OK) return false;
          if (code === AUTH_CLEARTEXT) socket.write(serialize.password(password));
          else if (code === AUTH_MD5) {
            socket.write(
              serialize.password(await postgresMd5PasswordHash(user, password, message.body.subarray(4, 8))),
            );
          } else if (code === AUTH_SASL) {
            const mechanisms = message.body.toString("utf8", 4).split("\0").filter(Boolean);
            sasl = startSession(mechanisms);
            socket.write(serialize.sendSASLInitialResponseMessage(sasl.mechanism, sasl.response));
          } else if (code === AUTH_SASL_CONTINUE && sasl) {
            await continueSession(sasl, password, message.body.toString("utf8", 4));
            socket.write(serialize.sendSCRAMClientFinalMessage(sasl.response));
          } else if (code === AUTH_SASL_FINAL && sasl) {
            finalizeSession(sasl, message.body.toString("utf8", 4));
          } else {
            throw new UpstreamError(
              `the database asked for an unsupported authentication method (${code})`,
              "auth",
            );
          }
          return false;
        }
        case Backend.parameterStatus:
          parameterMessages.push(Buffer.from(message.raw));
          return false;
        case Backend.backendKeyData:
          backendKey = { processId: message.body.readInt32BE(0), secretKey: message.body.readInt32BE(4) };
          return false;
        case Backend.errorResponse: {
          const fields = parseErrorFields(message.body);
          const code = fields.get("C") ?? "";
          const kind = code.startsWith("28") ? "auth" : "unavailable";
          throw new UpstreamError(
            `the database refused the gateway: ${fields.get("M") ?? "unknown error"}`,
            kind,
          );
        }
        case Backend.noticeResponse:
          return false;
        case Backend.readyForQuery:
          return true;
        default:
          throw new UpstreamError(
            `unexpected message ${String.fromCharCode(message.type)} during start-up`,
            "protocol",
          );
      }
    };
    let chain = Promise.resolve();
    socket.on("data", (chunk: Buffer) => {
      chain = chain.then(async () => {
        if (done) return;
        try {
          const messages = reader.push(chunk);
          for (let i = 0; i < messages.length; i++) {
            if (await handle(messages[i]!)) {
              done = true;
              clearTimeout(timer);
              socket.pause();
              socket.removeAllListeners("data");
              socket.removeAllListeners("error");
              socket.removeAllListeners("close");
              socket.removeAllListeners("connect");
              resolve({ socket, parameterMessages, backendKey, leftover: messages.slice(i + 1) });
              return;
            }
          }
        } catch (error) {
          fail(
            error instanceof UpstreamError
              ? error
              : new UpstreamError(String((error as Error).message), "protocol"),
          );
        }
      });
    });
  });
}

/** Sends a CancelRequest for an upstream backend on a fresh connection. */
export function cancelUpstream(
  target: ConnectionTarget,
  key: { processId: number; secretKey: number },
): void {
  const socket = connect({ host: target.host, port: target.port });
  socket.on("error", () => socket.destroy());
  socket.on("connect", () => socket.end(serialize.cancel(key.processId, key.secretKey)));
}
