/** Who is acting. Built by identity from a verified token; protocol code only carries it. */
export type PrincipalKind = "human" | "service" | "agent";

export interface Principal {
  /** Stable subject (for humans the e-mail address). */
  readonly user: string;
  readonly groups: readonly string[];
  readonly kind: PrincipalKind;
  /** For agents: the human the agent acts for. */
  readonly onBehalfOf?: { readonly user: string; readonly groups: readonly string[] };
  /** Token id, for revocation and audit correlation. */
  readonly tokenId?: string;
  /** Seconds since epoch when the credential expires. */
  readonly expiresAt?: number;
  /**
   * The gateway login session (or service-account key) the token was issued from: revoking it
   * ends every token issued from it. Absent for tokens of trusted external issuers.
   */
  readonly loginSessionId?: string;
}
