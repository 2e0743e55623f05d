/**
 * Errors with a stable code. `expose` marks messages safe to show a client; everything else
 * reaches the client only as a generic refusal with a correlation id.
 */
export class SluiceError extends Error {
  readonly code: string;
  readonly expose: boolean;
  constructor(code: string, message: string, options: { expose?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SluiceError";
    this.code = code;
    this.expose = options.expose ?? false;
  }
}

/** The registry of error codes; documented in docs/errors.md. */
export const ErrorCodes = {
  configInvalid: "SLUICE_CONFIG_INVALID",
  secretUnresolved: "SLUICE_CONFIG_SECRET_UNRESOLVED",
  tokenInvalid: "SLUICE_IDENTITY_TOKEN_INVALID",
  tokenExpired: "SLUICE_IDENTITY_TOKEN_EXPIRED",
  policyInvalid: "SLUICE_POLICY_INVALID",
  policyDenied: "SLUICE_POLICY_DENIED",
  auditUnavailable: "SLUICE_AUDIT_UNAVAILABLE",
  upstreamUnavailable: "SLUICE_UPSTREAM_UNAVAILABLE",
  upstreamAuthFailed: "SLUICE_UPSTREAM_AUTH_FAILED",
  protocolViolation: "SLUICE_PROTOCOL_VIOLATION",
  unknownConnection: "SLUICE_UNKNOWN_CONNECTION",
  maskingFailed: "SLUICE_MASKING_FAILED",
  recordingUnavailable: "SLUICE_RECORDING_UNAVAILABLE",
  approvalNotFound: "SLUICE_APPROVAL_NOT_FOUND",
  approvalRefused: "SLUICE_APPROVAL_REFUSED",
} as const;
