import type { PublicKeySet } from "./public-key-set.ts";
import { signStatement, verifyStatement } from "./signed-statement.ts";
import type { SigningKey } from "./signing-key.ts";

/** The JWS `typ` of a sealed session recording (docs/recording.md#seal). */
export const RECORDING_SEAL_TYPE = "sluice-recording-seal+jws";

/** What a seal vouches for: the recording of `sessionId` has `chunks` chunks and ends at `lastHash`. */
export interface SealStatement {
  readonly sessionId: string;
  readonly chunks: number;
  readonly lastHash: string;
}

/**
 * Signs a recording's seal with the gateway's key: a compact JWS (ES256, `kid` and `typ` in the
 * protected header) over `{"session_id":…,"chunks":…,"last_hash":…}`.
 */
export async function signRecordingSeal(key: SigningKey, seal: SealStatement): Promise<string> {
  return signStatement(key, RECORDING_SEAL_TYPE, {
    session_id: seal.sessionId,
    chunks: seal.chunks,
    last_hash: seal.lastHash,
  });
}

export type SealVerification =
  | { readonly ok: true; readonly seal: SealStatement; readonly kid: string }
  | { readonly ok: false; readonly unknownKey: boolean; readonly reason: string };

/** Checks a recording seal's signature against the keys the gateway signs with. */
export async function verifyRecordingSeal(jws: string, keys: PublicKeySet): Promise<SealVerification> {
  const result = await verifyStatement(jws, keys, RECORDING_SEAL_TYPE, "recording seal");
  if (!result.ok) return result;
  const { session_id: sessionId, chunks, last_hash: lastHash } = result.statement;
  if (typeof sessionId !== "string" || typeof chunks !== "number" || typeof lastHash !== "string") {
    return { ok: false, unknownKey: false, reason: "the signed statement is malformed" };
  }
  return { ok: true, seal: { sessionId, chunks, lastHash }, kid: result.kid };
}
