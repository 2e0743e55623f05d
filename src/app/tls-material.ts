import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";
import { generate } from "selfsigned";
import type { TlsConfig } from "../config/index.ts";

export interface TlsMaterial {
  readonly context: SecureContext;
  readonly certPath: string;
  readonly selfSigned: boolean;
}

/**
 * The listener certificate: the configured one, or a self-signed one generated once and kept
 * beside the signing key so clients that pin it keep working across restarts.
 */
export async function loadTlsMaterial(tls: TlsConfig | undefined, dataDir: string): Promise<TlsMaterial> {
  if (tls) {
    return {
      context: createSecureContext({ cert: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) }),
      certPath: tls.certPath,
      selfSigned: false,
    };
  }
  const certPath = join(dataDir, "tls-self-signed.crt");
  const keyPath = join(dataDir, "tls-self-signed.key");
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    const notAfterDate = new Date(Date.now() + 365 * 24 * 3600 * 1000);
    const pems = await generate([{ name: "commonName", value: "sluice-gateway" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notAfterDate,
      extensions: [
        {
          name: "subjectAltName",
          altNames: [
            { type: 2, value: "localhost" },
            { type: 7, ip: "127.0.0.1" },
          ],
        },
      ],
    });
    mkdirSync(dirname(certPath), { recursive: true, mode: 0o700 });
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert);
  }
  return {
    context: createSecureContext({ cert: readFileSync(certPath), key: readFileSync(keyPath) }),
    certPath,
    selfSigned: true,
  };
}
