import pg from "pg";
import { checkNotification, deliver } from "./notifications.ts";
import type { NotificationHandler, SubscribeOptions, Subscription } from "./store.ts";

/** Every channel of the store is namespaced, so other users of the database cannot collide with it. */
export const CHANNEL_PREFIX = "sluice.";

interface Entry {
  readonly handler: NotificationHandler;
  readonly onReconnect: (() => void) | undefined;
}

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

/**
 * LISTEN for the PostgreSQL store on one dedicated connection (a pooled one would lose its
 * LISTENs). Connected when the first subscription is made; when the connection breaks it
 * reconnects with backoff, LISTENs again to every channel that still has subscribers, and then
 * calls their `onReconnect` (what was sent in between is lost).
 */
export class PostgresListener {
  readonly #connect: () => Promise<pg.Client>;
  readonly #log: (message: string) => void;
  readonly #channels = new Map<string, Set<Entry>>();
  #client: pg.Client | undefined;
  #opening: Promise<pg.Client> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = RETRY_FIRST_MS;
  /** The connection was lost; subscribers hear about the reconnection. */
  #lost = false;
  #closed = false;

  constructor(connect: () => Promise<pg.Client>, log: (message: string) => void) {
    this.#connect = connect;
    this.#log = log;
  }

  async subscribe(
    channel: string,
    handler: NotificationHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    checkNotification(channel);
    if (this.#closed) throw new Error("the store is closed");
    const entry: Entry = { handler, onReconnect: options?.onReconnect };
    let entries = this.#channels.get(channel);
    if (entries === undefined) {
      entries = new Set();
      this.#channels.set(channel, entries);
    }
    entries.add(entry);
    try {
      const client = await this.#open();
      // LISTEN is idempotent; issuing it for every subscription keeps the order with UNLISTEN exact.
      await client.query(`LISTEN ${pg.escapeIdentifier(CHANNEL_PREFIX + channel)}`);
    } catch (error) {
      this.#remove(channel, entry);
      throw error;
    }
    let active = true;
    return {
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        this.#remove(channel, entry);
      },
    };
  }

  #remove(channel: string, entry: Entry): void {
    const entries = this.#channels.get(channel);
    if (entries === undefined || !entries.delete(entry) || entries.size > 0) return;
    this.#channels.delete(channel);
    this.#client?.query(`UNLISTEN ${pg.escapeIdentifier(CHANNEL_PREFIX + channel)}`).catch(() => {});
  }

  /** The live listening connection, connecting (once, shared) when there is none. */
  #open(): Promise<pg.Client> {
    if (this.#client !== undefined) return Promise.resolve(this.#client);
    this.#opening ??= this.#establish().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async #establish(): Promise<pg.Client> {
    const client = await this.#connect();
    let gone = false;
    const onGone = (error?: Error) => {
      if (gone) return;
      gone = true;
      client.removeAllListeners("notification");
      client.end().catch(() => {});
      if (this.#client !== client) return;
      this.#client = undefined;
      if (this.#closed) return;
      this.#lost = true;
      this.#log(
        `store notifications: the listening connection was lost${error ? ` (${error.message})` : ""}; reconnecting`,
      );
      this.#scheduleRetry();
    };
    client.on("error", onGone);
    client.on("end", () => onGone());
    client.on("notification", (message) => this.#dispatch(message));
    try {
      for (const channel of this.#channels.keys()) {
        await client.query(`LISTEN ${pg.escapeIdentifier(CHANNEL_PREFIX + channel)}`);
      }
    } catch (error) {
      gone = true;
      client.removeAllListeners();
      client.on("error", () => {});
      await client.end().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      gone = true;
      await client.end().catch(() => {});
      throw new Error("the store is closed");
    }
    this.#client = client;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#retryMs = RETRY_FIRST_MS;
    if (this.#lost) {
      this.#lost = false;
      this.#log("store notifications: listening again");
      for (const [channel, entries] of this.#channels) {
        for (const entry of [...entries]) {
          if (entry.onReconnect !== undefined) deliver(entry.onReconnect, "", channel, this.#log);
        }
      }
    }
    return client;
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry !== undefined || this.#channels.size === 0) return;
    const delay = this.#retryMs * (0.5 + Math.random() / 2);
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#open().catch(() => this.#scheduleRetry());
    }, delay);
    this.#retry.unref();
  }

  #dispatch(message: pg.Notification): void {
    if (!message.channel.startsWith(CHANNEL_PREFIX)) return;
    const channel = message.channel.slice(CHANNEL_PREFIX.length);
    const entries = this.#channels.get(channel);
    if (entries === undefined) return;
    for (const entry of [...entries]) deliver(entry.handler, message.payload ?? "", channel, this.#log);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#channels.clear();
    const client = this.#client;
    this.#client = undefined;
    await this.#opening?.catch(() => {});
    await client?.end().catch(() => {});
  }
}
