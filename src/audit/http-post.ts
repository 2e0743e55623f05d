import { type Agent, request as httpRequest } from "node:http";
import { type Agent as HttpsAgent, request as httpsRequest } from "node:https";

/** How much of a receiver's answer is read; the rest is dropped (only the status matters). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs `body` and resolves with the HTTP status once the response has ended; rejects on a
 * network error or when no complete response arrives within `timeoutMs`. Redirects are not
 * followed. Shared by the audit webhook sink and approval notifications.
 */
export function postWithDeadline(
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
  options: { readonly timeoutMs: number; readonly agent?: Agent | HttpsAgent },
): Promise<number> {
  const { timeoutMs } = options;
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const request = send(url, {
      method: "POST",
      ...(options.agent === undefined ? {} : { agent: options.agent }),
      timeout: timeoutMs,
      headers: { ...headers, "content-length": String(body.length) },
    });
    const deadline = setTimeout(() => {
      request.destroy(new Error(`no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = (error: Error | undefined, status?: number) => {
      clearTimeout(deadline);
      if (error) reject(error);
      else resolve(status ?? 0);
    };
    request.on("timeout", () => request.destroy(new Error(`no response within ${timeoutMs} ms`)));
    request.on("error", (error) => settle(error));
    request.on("response", (response) => {
      let received = 0;
      response.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) response.destroy();
      });
      response.on("error", (error) => settle(error));
      response.on("close", () => settle(undefined, response.statusCode));
    });
    request.end(body);
  });
}
