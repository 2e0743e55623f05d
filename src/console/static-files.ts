import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** The console's own files (no build step) and the bundled terminal player, by URL path. */
const OWN_FILES = ["index.html", "app.js", "views.js", "dom.js", "console.css", "icon.svg"] as const;
const PLAYER_FILES = {
  "asciinema-player.min.js": "asciinema-player/dist/bundle/asciinema-player.min.js",
  "asciinema-player.css": "asciinema-player/dist/bundle/asciinema-player.css",
} as const;

function load(path: string): StaticFile {
  const body = readFileSync(path);
  const extension = path.slice(path.lastIndexOf("."));
  return {
    body,
    type: TYPES[extension] ?? "application/octet-stream",
    etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
  };
}

/**
 * Every file the console serves, read once at start: `/console/static/<name>` from
 * `src/console/static/`, `/console/vendor/<name>` from the asciinema-player package. Nothing is
 * served by a path the map does not name, so no request reaches the file system.
 */
export class StaticFiles {
  readonly #files = new Map<string, StaticFile>();

  constructor() {
    const dir = fileURLToPath(new URL("./static/", import.meta.url));
    for (const name of OWN_FILES) this.#files.set(`/console/static/${name}`, load(`${dir}${name}`));
    const require = createRequire(import.meta.url);
    for (const [name, spec] of Object.entries(PLAYER_FILES)) {
      this.#files.set(`/console/vendor/${name}`, load(require.resolve(spec)));
    }
  }

  get shell(): Buffer {
    return this.#files.get("/console/static/index.html")!.body;
  }

  has(path: string): boolean {
    return this.#files.has(path);
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string, headers: Record<string, string>): boolean {
    const file = this.#files.get(path);
    if (file === undefined) return false;
    const common = {
      ...headers,
      "content-type": file.type,
      etag: file.etag,
      "cache-control": "no-cache",
    };
    if (req.headers["if-none-match"] === file.etag) {
      res.writeHead(304, common);
      res.end();
      return true;
    }
    res.writeHead(200, { ...common, "content-length": String(file.body.length) });
    res.end(req.method === "HEAD" ? undefined : file.body);
    return true;
  }
}
