import { CompactSign, compactVerify } from "jose";
import type { PublicKeySet } from "./public-key-set.ts";
import { SIGNING_ALGORITHM, type SigningKey } from "./signing-key.ts";

/**
 * Statements the gateway signs about its own records (an audit chain head, a sealed session
 * recording): a compact JWS, ES256, with `kid` and a statement-specific `typ` in the protected
 * header, over the statement's JSON. The `typ` keeps each kind apart from the others and from
 * tokens: a verifier for one kind never accepts another.
 */
export async function signStatement(
  key: SigningKey,
  typ: string,
  statement: Readonly<Record<string, unknown>>,
): Promise<string> {
  const payload = new TextEncoder().encode(JSON.stringify(statement));
  return new CompactSign(payload)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ })
    .sign(key.privateKey);
}

export type StatementVerification =
  | { readonly ok: true; readonly statement: Readonly<Record<string, unknown>>; readonly kid: string }
  | { readonly ok: false; readonly unknownKey: boolean; readonly reason: string };

/**
 * Checks a signed statement of type `typ` against the gateway's keys. `what` names the kind in
 * the reason ("not a signed audit head").
 */
export async function verifyStatement(
  jws: string,
  keys: PublicKeySet,
  typ: string,
  what: string,
): Promise<StatementVerification> {
  let kid: string | undefined;
  try {
    const [encodedHeader = ""] = jws.split(".");
    const header = JSON.parse(Buffer.from(encodedHeader, "base64url").toString("utf8")) as {
      kid?: unknown;
      typ?: unknown;
      alg?: unknown;
    };
    if (header.alg !== SIGNING_ALGORITHM || header.typ !== typ || typeof header.kid !== "string") {
      return { ok: false, unknownKey: false, reason: `not a signed ${what}` };
    }
    kid = header.kid;
  } catch {
    return { ok: false, unknownKey: false, reason: `not a signed ${what}` };
  }
  const key = keys.get(kid);
  if (key === undefined)
    return { ok: false, unknownKey: true, reason: `signed with an unknown key (kid ${kid})` };
  try {
    const { payload } = await compactVerify(jws, key, { algorithms: [SIGNING_ALGORITHM] });
    const statement: unknown = JSON.parse(new TextDecoder().decode(payload));
    if (typeof statement !== "object" || statement === null || Array.isArray(statement)) {
      return { ok: false, unknownKey: false, reason: "the signed statement is malformed" };
    }
    return { ok: true, statement: statement as Record<string, unknown>, kid };
  } catch {
    return { ok: false, unknownKey: false, reason: "the signature does not verify" };
  }
}
