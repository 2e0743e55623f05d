import { CompactSign, compactVerify } from "jose";
import type { PublicKeySet } from "./public-key-set.ts";
import { SIGNING_ALGORITHM, type SigningKey } from "./signing-key.ts";

/** The JWS `typ` of a signed audit head: never accepted as a token, and tokens are never accepted as one. */
export const AUDIT_HEAD_TYPE = "sluice-audit-head+jws";

export interface SignedHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Signs a statement "the audit chain's row `seq` has hash `hash`" with the gateway's key: a
 * compact JWS (ES256, `kid` and `typ` in the protected header) over `{"seq":…,"hash":…}`.
 */
export async function signAuditHead(key: SigningKey, head: SignedHead): Promise<string> {
  const payload = new TextEncoder().encode(JSON.stringify({ seq: head.seq, hash: head.hash }));
  return new CompactSign(payload)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: AUDIT_HEAD_TYPE })
    .sign(key.privateKey);
}

export type HeadVerification =
  | { readonly ok: true; readonly head: SignedHead; readonly kid: string }
  | { readonly ok: false; readonly unknownKey: boolean; readonly reason: string };

/** Checks a signed audit head against the keys the gateway signs with. */
export async function verifyAuditHead(jws: string, keys: PublicKeySet): Promise<HeadVerification> {
  let kid: string | undefined;
  try {
    const [encodedHeader = ""] = jws.split(".");
    const header = JSON.parse(Buffer.from(encodedHeader, "base64url").toString("utf8")) as {
      kid?: unknown;
      typ?: unknown;
      alg?: unknown;
    };
    if (
      header.alg !== SIGNING_ALGORITHM ||
      header.typ !== AUDIT_HEAD_TYPE ||
      typeof header.kid !== "string"
    ) {
      return { ok: false, unknownKey: false, reason: "not a signed audit head" };
    }
    kid = header.kid;
  } catch {
    return { ok: false, unknownKey: false, reason: "not a signed audit head" };
  }
  const key = keys.get(kid);
  if (key === undefined)
    return { ok: false, unknownKey: true, reason: `signed with an unknown key (kid ${kid})` };
  try {
    const { payload } = await compactVerify(jws, key, { algorithms: [SIGNING_ALGORITHM] });
    const head = JSON.parse(new TextDecoder().decode(payload)) as { seq?: unknown; hash?: unknown };
    if (typeof head.seq !== "number" || typeof head.hash !== "string") {
      return { ok: false, unknownKey: false, reason: "the signed statement is malformed" };
    }
    return { ok: true, head: { seq: head.seq, hash: head.hash }, kid };
  } catch {
    return { ok: false, unknownKey: false, reason: "the signature does not verify" };
  }
}
