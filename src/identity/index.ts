export {
  AUDIT_HEAD_TYPE,
  type HeadVerification,
  type SignedHead,
  signAuditHead,
  verifyAuditHead,
} from "./audit-head-signature.ts";
export { PublicKeySet } from "./public-key-set.ts";
export {
  importSigningKey,
  loadOrCreateSigningKey,
  type PublicSigningJwk,
  SIGNING_ALGORITHM,
  type SigningKey,
} from "./signing-key.ts";
export { type GatewayClaims, type IssueRequest, TokenIssuer } from "./token-issuer.ts";
export { type Clock, systemClock, type TokenSettings } from "./token-settings.ts";
export { TokenVerifier, type VerifierSettings } from "./token-verifier.ts";
