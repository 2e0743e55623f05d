import pg from "pg";
import type { ConnectionTarget } from "../../../core/index.ts";
import type { CatalogQuery } from "./catalog.ts";

/** How long one catalog query may take before the masked statement is refused. */
const QUERY_TIMEOUT_MS = 5_000;

/**
 * The gateway's own connection to a target for catalog lookups (one per target, opened on first
 * use, reopened after a failure). It logs in with the connection's credentials, like sessions do.
 */
export function catalogConnection(target: ConnectionTarget): {
  query: CatalogQuery;
  close: () => Promise<void>;
} {
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;

  const connect = (): Promise<pg.Client> => {
    connecting ??= (async () => {
      const c = new pg.Client({
        host: target.host,
        port: target.port,
        ...(target.database === undefined ? {} : { database: target.database }),
        ...(target.user === undefined ? {} : { user: target.user }),
        ...(target.password === undefined ? {} : { password: target.password }),
        application_name: "sluice-catalog",
        query_timeout: QUERY_TIMEOUT_MS,
        connectionTimeoutMillis: QUERY_TIMEOUT_MS,
      });
      c.on("error", () => {
        if (client === c) {
          client = undefined;
          connecting = undefined;
        }
      });
      try {
        await c.connect();
      } catch (error) {
        connecting = undefined;
        throw error;
      }
      client = c;
      return c;
    })();
    return connecting;
  };

  return {
    async query(sql, params) {
      const c = client ?? (await connect());
      try {
        const result = await c.query(sql, params as unknown[]);
        return result.rows as Record<string, unknown>[];
      } catch (error) {
        // A broken connection is replaced next time; the caller fails closed now.
        if (client === c && !(error instanceof pg.DatabaseError)) {
          client = undefined;
          connecting = undefined;
          c.end().catch(() => {});
        }
        throw error;
      }
    },
    async close() {
      const c = client;
      client = undefined;
      connecting = undefined;
      await c?.end().catch(() => {});
    },
  };
}
