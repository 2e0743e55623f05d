/**
 * The built-in development identity provider: a real OIDC provider (oidc-provider) with static
 * demo users, for the demo and the tests. NOT FOR PRODUCTION: fixed passwords, keys in memory,
 * every consent granted automatically, loopback only.
 */
export const DEV_IDP_WARNING =
  "DEV IdP: the built-in demo identity provider is running. It is NOT FOR PRODUCTION (static demo users with known passwords, keys in memory, loopback only).";

export interface DevIdpUser {
  /** Login name typed into the form; also the subject. */
  readonly login: string;
  readonly password: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
}

/** The resource indicator that stands for "the Sluice gateway" in client-credentials requests. */
export const DEV_IDP_GATEWAY_RESOURCE = "urn:sluice";

export const DEV_IDP_USERS: readonly DevIdpUser[] = Object.freeze([
  {
    login: "alice",
    password: "demo",
    email: "alice@example.com",
    name: "Alice Analyst",
    groups: ["data-analysts"],
  },
  {
    login: "bob",
    password: "demo",
    email: "bob@example.com",
    name: "Bob Builder",
    groups: ["eng-platform", "eng-oncall"],
  },
]);
