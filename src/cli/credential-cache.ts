import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** What `sluice login` keeps for one gateway. */
export interface CachedLogin {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Seconds since epoch. */
  readonly expiresAt: number;
  readonly sessionExpiresAt: number;
  readonly user: string;
  readonly groups: readonly string[];
  readonly provider?: string;
}

interface CacheFile {
  readonly version: 1;
  /** The gateway used when none is named. */
  readonly current?: string;
  readonly gateways: Readonly<Record<string, CachedLogin>>;
}

/**
 * The user's cached logins: `$SLUICE_CONFIG_DIR` or `$XDG_CONFIG_HOME/sluice` or
 * `~/.config/sluice`, file `credentials.json`. The directory is created with mode 0700 and the
 * file written with mode 0600, atomically (a temporary file renamed into place).
 */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir =
    env.SLUICE_CONFIG_DIR ?? join(env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), ".config"), "sluice");
  return join(dir, "credentials.json");
}

export class CredentialCache {
  constructor(readonly path: string = credentialsPath()) {}

  async read(): Promise<CacheFile> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, gateways: {} };
      throw error;
    }
    const parsed = JSON.parse(text) as Partial<CacheFile>;
    return {
      version: 1,
      gateways: parsed.gateways ?? {},
      ...(parsed.current ? { current: parsed.current } : {}),
    };
  }

  /** The gateway to use: the one named, else the current one, else the only one. */
  async resolveGateway(named: string | undefined): Promise<string | undefined> {
    if (named !== undefined) return normalizeGateway(named);
    const file = await this.read();
    if (file.current !== undefined) return file.current;
    const names = Object.keys(file.gateways);
    return names.length === 1 ? names[0] : undefined;
  }

  async get(gateway: string): Promise<CachedLogin | undefined> {
    return (await this.read()).gateways[gateway];
  }

  async put(gateway: string, login: CachedLogin): Promise<void> {
    const file = await this.read();
    await this.#write({ version: 1, current: gateway, gateways: { ...file.gateways, [gateway]: login } });
  }

  async remove(gateway: string): Promise<void> {
    const file = await this.read();
    const { [gateway]: _removed, ...rest } = file.gateways;
    await this.#write({
      version: 1,
      ...(file.current === undefined || file.current === gateway ? {} : { current: file.current }),
      gateways: rest,
    });
  }

  async #write(file: CacheFile): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: "wx" });
      await rename(temporary, this.path);
      await chmod(this.path, 0o600);
    } finally {
      await rm(temporary, { force: true });
    }
  }
}

/** A gateway URL as the cache keys it: its origin. */
export function normalizeGateway(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new Error(`${url}: expected an http:// or https:// gateway URL`);
  }
  return parsed.origin;
}
