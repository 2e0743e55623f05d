import { type AuditSink, JsonlFileSink, SyslogSink, WebhookSink } from "../audit/index.ts";
import type { AuditSinkConfig } from "../config/index.ts";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import type { Store } from "../store/index.ts";

/** One configured audit sink, ready to start. */
export function createAuditSink(
  sink: AuditSinkConfig,
  context: { readonly store: Store; readonly log: (message: string) => void },
): AuditSink {
  const { store, log } = context;
  switch (sink.type) {
    case "jsonl":
      return new JsonlFileSink({ store, path: sink.path, log });
    case "syslog":
      return new SyslogSink({
        store,
        transport: sink.transport,
        host: sink.host,
        port: sink.port,
        facility: sink.facility,
        ...(sink.hostname === undefined ? {} : { hostname: sink.hostname }),
        ...(sink.caPath === undefined ? {} : { caFile: sink.caPath }),
        cursorPath: sink.cursorPath,
        log,
      });
    case "webhook": {
      const secret = sink.secret;
      if (secret === undefined) {
        throw new SluiceError(
          ErrorCodes.secretUnresolved,
          `audit sink webhook ${sink.url}: the configuration was loaded without its secret`,
        );
      }
      return new WebhookSink({
        store,
        url: sink.url,
        secret,
        batchSize: sink.batchSize,
        timeoutMs: sink.timeoutSeconds * 1000,
        cursorPath: sink.cursorPath,
        log,
      });
    }
  }
}
