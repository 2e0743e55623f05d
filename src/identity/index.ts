export {
  AGENT_USER_PREFIX,
  type AgentToken,
  AgentTokenError,
  type AgentTokenEvent,
  type AgentTokenRequest,
  AgentTokens,
} from "./agent-tokens.ts";
export {
  AUDIT_HEAD_TYPE,
  type HeadVerification,
  type SignedHead,
  signAuditHead,
  verifyAuditHead,
} from "./audit-head-signature.ts";
export { CredentialVerifier, type RevocationCheck } from "./credential-verifier.ts";
export {
  DEV_IDP_GATEWAY_RESOURCE,
  DEV_IDP_USERS,
  DEV_IDP_WARNING,
  type DevIdp,
  type DevIdpClient,
  type DevIdpOptions,
  type DevIdpUser,
  startDevIdp,
} from "./dev-idp-entry.ts";
export { type GroupRule, groupsClaim, mapGroups } from "./group-mapping.ts";
export {
  type IdpIdentity,
  IdpRefusedError,
  type LoginEvent,
  LoginService,
  type LoginSessionRecord,
  type LoginSessionStore,
  type SessionInfo,
  type SessionProvider,
  type SessionTokens,
} from "./login-sessions.ts";
export { isAllowedIdpUrl, isLoopbackHost } from "./loopback.ts";
export {
  type BrowserLoginChecks,
  type DeviceLogin,
  OidcProviderLogin,
  type OidcProviderSettings,
} from "./oidc-login.ts";
export { PendingLogins } from "./pending-logins.ts";
export { PublicKeySet } from "./public-key-set.ts";
export {
  RECORDING_SEAL_TYPE,
  type SealStatement,
  type SealVerification,
  signRecordingSeal,
  verifyRecordingSeal,
} from "./recording-seal-signature.ts";
export {
  SamlLoginError,
  type SamlLoginOptions,
  SamlProviderLogin,
  type SamlProviderSettings,
} from "./saml-login.ts";
export { parseSamlIdpMetadata, type SamlIdpMetadata, SamlMetadataError } from "./saml-metadata.ts";
export {
  API_KEY_SESSION_PREFIX,
  type ApiKeyRecord,
  type ApiKeyStore,
  type CreatedApiKey,
  type ServiceAccountEvent,
  ServiceAccounts,
} from "./service-accounts.ts";
export { type StatementVerification, signStatement, verifyStatement } from "./signed-statement.ts";
export {
  importSigningKey,
  loadOrCreateSigningKey,
  type PublicSigningJwk,
  rotateSigningKey,
  SIGNING_ALGORITHM,
  type SigningKey,
  verificationKeys,
} from "./signing-key.ts";
export { type GatewayClaims, type IssueRequest, TokenIssuer } from "./token-issuer.ts";
export { type Clock, systemClock, type TokenSettings } from "./token-settings.ts";
export { TokenVerifier, type VerifierSettings } from "./token-verifier.ts";
export {
  type HumanSession,
  type TrustedIssuer,
  type TrustedIssuerOptions,
  TrustedIssuerVerifier,
} from "./trusted-issuers.ts";
