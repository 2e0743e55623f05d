import { createServer } from "node:net";

/** Whether `host:port` can be listened on right now (a moment later it may not be). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A TCP port on `host` that was free a moment ago. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `preferred` when it is free on `host`, otherwise any free port. */
export async function preferredOrFreePort(host: string, preferred: number): Promise<number> {
  return (await isPortFree(host, preferred)) ? preferred : freePort(host);
}
