import { SluiceError } from "../core/index.ts";
import type { NotificationHandler, SubscribeOptions, Subscription } from "./store.ts";

/** Channel names: short and plain, so every store can carry them unchanged. */
const CHANNEL = /^[A-Za-z0-9_.:-]{1,48}$/;
/** Payload limit in UTF-8 bytes (PostgreSQL's NOTIFY takes less than 8000). */
export const MAX_NOTIFICATION_BYTES = 7000;

/** Throws unless `channel` and `payload` are acceptable to every store (the same rules everywhere). */
export function checkNotification(channel: string, payload?: string): void {
  if (!CHANNEL.test(channel)) {
    throw new SluiceError(
      "SLUICE_STORE_NOTIFY",
      `notification channel ${JSON.stringify(channel)}: expected 1 to 48 characters of A-Z a-z 0-9 _ . : -`,
    );
  }
  if (payload !== undefined && Buffer.byteLength(payload, "utf8") > MAX_NOTIFICATION_BYTES) {
    throw new SluiceError(
      "SLUICE_STORE_NOTIFY",
      `notification payload on ${channel}: more than ${MAX_NOTIFICATION_BYTES} bytes`,
    );
  }
}

/** Runs a handler without letting its exception escape into the store's machinery. */
export function deliver(
  handler: NotificationHandler,
  payload: string,
  channel: string,
  log: (message: string) => void,
): void {
  try {
    handler(payload);
  } catch (error) {
    log(
      `store notification handler on ${channel} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * Notifications inside one process: the embedded store's equivalent of LISTEN/NOTIFY. Every
 * SQLite store object of the same file in this process shares one bus, so two gateways in one
 * process (tests) reach each other as two processes on PostgreSQL do. Delivery is asynchronous
 * (never inside `notify`), like PostgreSQL's.
 */
export class LocalNotificationBus {
  readonly #channels = new Map<string, Set<NotificationHandler>>();
  readonly #log: (message: string) => void;

  constructor(log: (message: string) => void) {
    this.#log = log;
  }

  async notify(channel: string, payload: string): Promise<void> {
    checkNotification(channel, payload);
    const handlers = [...(this.#channels.get(channel) ?? [])];
    if (handlers.length === 0) return;
    setImmediate(() => {
      for (const handler of handlers) deliver(handler, payload, channel, this.#log);
    });
  }

  async subscribe(
    channel: string,
    handler: NotificationHandler,
    _options?: SubscribeOptions,
  ): Promise<Subscription> {
    checkNotification(channel);
    // A distinct function per subscription, so subscribing one handler twice gives two subscriptions.
    const entry: NotificationHandler = (payload) => handler(payload);
    let handlers = this.#channels.get(channel);
    if (handlers === undefined) {
      handlers = new Set();
      this.#channels.set(channel, handlers);
    }
    handlers.add(entry);
    return {
      unsubscribe: async () => {
        const current = this.#channels.get(channel);
        if (current === undefined) return;
        current.delete(entry);
        if (current.size === 0) this.#channels.delete(channel);
      },
    };
  }

  get empty(): boolean {
    return this.#channels.size === 0;
  }
}

const sharedBuses = new Map<string, { bus: LocalNotificationBus; users: number }>();

/** The bus for a store file in this process (a private one for `:memory:`); release it when closing. */
export function acquireLocalBus(
  key: string,
  log: (message: string) => void,
): { bus: LocalNotificationBus; release: () => void } {
  if (key === ":memory:") return { bus: new LocalNotificationBus(log), release: () => {} };
  let shared = sharedBuses.get(key);
  if (shared === undefined) {
    shared = { bus: new LocalNotificationBus(log), users: 0 };
    sharedBuses.set(key, shared);
  }
  shared.users++;
  const entry = shared;
  let released = false;
  return {
    bus: entry.bus,
    release: () => {
      if (released) return;
      released = true;
      entry.users--;
      if (entry.users === 0 && sharedBuses.get(key) === entry) sharedBuses.delete(key);
    },
  };
}
