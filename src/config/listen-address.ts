import type { ListenAddress } from "./types.ts";

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/** Reads `host:port` or `[ipv6]:port`; port 0 means any free port. Undefined when malformed. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const match = HOST_PORT.exec(text.trim());
  if (match === null) return undefined;
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (host === undefined || port > 65_535) return undefined;
  return { host, port };
}
