import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importPKCS8,
  type JWK,
} from "jose";
import { ErrorCodes, SluiceError } from "../core/index.ts";

export const SIGNING_ALGORITHM = "ES256";

/** A public P-256 key as published for verifiers: `kid` is its RFC 7638 thumbprint. */
export interface PublicSigningJwk extends JWK {
  readonly kty: "EC";
  readonly crv: "P-256";
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: typeof SIGNING_ALGORITHM;
  readonly use: "sig";
}

/** The gateway's token signing key. The private half never leaves the process. */
export interface SigningKey {
  readonly kid: string;
  /** Not extractable: it can sign, but cannot be exported again. */
  readonly privateKey: CryptoKey;
  readonly publicJwk: PublicSigningJwk;
}

/**
 * Reads the PKCS#8 PEM P-256 private key at `path`, or generates one when the file is missing
 * (written with mode 0600, its directory created with mode 0700).
 */
export async function loadOrCreateSigningKey(path: string): Promise<SigningKey> {
  const pem = await readPem(path);
  if (pem !== undefined) return importSigningKey(pem, path);
  const created = await createKeyFile(path);
  // Another process may have created the file first: the file on disk is the key in use.
  return importSigningKey(created ?? (await readPem(path)) ?? "", path);
}

/** Builds a SigningKey from PKCS#8 PEM text; `source` names it in errors. */
export async function importSigningKey(pem: string, source = "signing key"): Promise<SigningKey> {
  let extractable: CryptoKey;
  let privateKey: CryptoKey;
  try {
    extractable = await importPKCS8(pem, SIGNING_ALGORITHM, { extractable: true });
    privateKey = await importPKCS8(pem, SIGNING_ALGORITHM, { extractable: false });
  } catch {
    throw new SluiceError(
      ErrorCodes.configInvalid,
      `${source}: expected a PKCS#8 PEM private key for ${SIGNING_ALGORITHM} (P-256)`,
    );
  }
  const jwk = await exportJWK(extractable);
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || jwk.x === undefined || jwk.y === undefined) {
    throw new SluiceError(ErrorCodes.configInvalid, `${source}: expected a P-256 key`);
  }
  const kid = await calculateJwkThumbprint({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, "sha256");
  const publicJwk: PublicSigningJwk = Object.freeze({
    kty: "EC",
    crv: "P-256",
    x: jwk.x,
    y: jwk.y,
    kid,
    alg: SIGNING_ALGORITHM,
    use: "sig",
  });
  return Object.freeze({ kid, privateKey, publicJwk });
}

async function readPem(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw cannot("read", path, error);
  }
}

/**
 * Writes a fresh key and returns its PEM; undefined when the file appeared in the meantime.
 * The key is written to a temporary file and hard-linked into place, so that a concurrent reader
 * never sees a half-written file and an existing key is never replaced.
 */
async function createKeyFile(path: string): Promise<string | undefined> {
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const pem = await exportPKCS8(privateKey);
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(temporary, pem, { mode: 0o600, flag: "wx" });
    await linkOrWrite(temporary, path, pem);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw cannot("write", path, error);
  } finally {
    await rm(temporary, { force: true });
  }
  return pem;
}

/** Hard links where the file system allows it; otherwise creates the file exclusively. */
async function linkOrWrite(temporary: string, path: string, pem: string): Promise<void> {
  try {
    await link(temporary, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EXDEV") throw error;
    await writeFile(path, pem, { mode: 0o600, flag: "wx" });
  }
}

function cannot(verb: string, path: string, error: unknown): SluiceError {
  const code = (error as NodeJS.ErrnoException).code ?? "error";
  return new SluiceError(ErrorCodes.configInvalid, `${path}: cannot ${verb} signing key (${code})`);
}

/**
 * The public keys the gateway's signatures are checked with: the current key and every key
 * rotated out that is still listed (`previous_signing_keys`). A listed file that cannot be read
 * is an error: a key silently missing would reject valid tokens.
 */
export async function verificationKeys(
  current: SigningKey,
  previousPaths: readonly string[],
): Promise<PublicSigningJwk[]> {
  const keys = [current.publicJwk];
  for (const path of previousPaths) {
    const pem = await readPem(path);
    if (pem === undefined) {
      throw new SluiceError(ErrorCodes.configInvalid, `previous signing key ${path}: no such file`);
    }
    const key = await importSigningKey(pem, path);
    if (!keys.some((k) => k.kid === key.kid)) keys.push(key.publicJwk);
  }
  return keys;
}

/**
 * Replaces the key at `path` with a new one; the old key is kept beside it as
 * `<name>.<kid prefix>.retired.pem` (mode 0600) for `previous_signing_keys`. Returns both kids
 * and the retired file's path.
 */
export async function rotateSigningKey(
  path: string,
): Promise<{ retiredKid: string; retiredPath: string; kid: string }> {
  const pem = await readPem(path);
  if (pem === undefined) throw new SluiceError(ErrorCodes.configInvalid, `${path}: no signing key to rotate`);
  const old = await importSigningKey(pem, path);
  const retiredPath = `${path.replace(/\.pem$/, "")}.${old.kid.slice(0, 12)}.retired.pem`;
  await writeFile(retiredPath, pem, { mode: 0o600, flag: "wx" }).catch((error: unknown) => {
    throw cannot("write", retiredPath, error);
  });
  await rm(path);
  const next = await loadOrCreateSigningKey(path);
  return { retiredKid: old.kid, retiredPath, kid: next.kid };
}
