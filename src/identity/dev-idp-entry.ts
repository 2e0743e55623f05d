import type { DevIdp, DevIdpOptions } from "./dev-idp.ts";

export type { DevIdp, DevIdpClient, DevIdpOptions } from "./dev-idp.ts";
export {
  DEV_IDP_GATEWAY_RESOURCE,
  DEV_IDP_USERS,
  DEV_IDP_WARNING,
  type DevIdpUser,
} from "./dev-idp-users.ts";

/**
 * Starts the built-in development IdP (see dev-idp.ts). Loaded on demand, so that the gateway
 * and the CLI never load the OIDC provider library unless the dev IdP is actually wanted.
 */
export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const { startDevIdp: start } = await import("./dev-idp.ts");
  return start(options);
}
