import { readFile } from "node:fs/promises";
import type { SluiceConfig } from "../config/index.ts";
import { importSigningKey, PublicKeySet, verificationKeys } from "../identity/index.ts";

/**
 * The gateway's public keys (the current one and `previous_signing_keys`), read from its key
 * files, for checking what it signed (audit checkpoints, recording seals); undefined when there
 * is no key file (signatures stay unchecked).
 */
export async function gatewayPublicKeys(config: SluiceConfig): Promise<PublicKeySet | undefined> {
  let pem: string;
  try {
    pem = await readFile(config.signingKey.path, "utf8");
  } catch {
    return undefined;
  }
  const key = await importSigningKey(pem, config.signingKey.path);
  return PublicKeySet.of(await verificationKeys(key, config.signingKey.previousPaths));
}
