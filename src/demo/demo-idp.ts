/** The demo's identity provider: the built-in dev IdP, wired in as provider `demo`. NOT FOR PRODUCTION. */
import { randomBytes } from "node:crypto";
import type { OidcProviderConfig, SluiceConfig } from "../config/index.ts";
import { type DevIdp, startDevIdp } from "../identity/index.ts";

export const DEMO_PROVIDER = "demo";

export interface DemoIdentity {
  readonly idp: DevIdp;
  /** The configuration with the dev IdP added as provider `demo` (in memory only). */
  readonly config: SluiceConfig;
}

/**
 * Starts the dev IdP on a free loopback port and adds it to the configuration as an OIDC
 * provider for the device flow (`sluice login`), with group mapping onto the example policies'
 * groups: data-* → analysts, eng-oncall → oncall, eng-platform → engineers.
 */
export async function startDemoIdentity(
  config: SluiceConfig,
  log: (message: string) => void,
): Promise<DemoIdentity> {
  const clientSecret = randomBytes(24).toString("base64url");
  const idp = await startDevIdp({ clients: [{ clientId: "sluice-demo", clientSecret }], log });
  const provider: OidcProviderConfig = {
    name: DEMO_PROVIDER,
    type: "oidc",
    issuer: idp.issuer,
    clientId: "sluice-demo",
    scopes: ["openid", "profile", "email", "offline_access"],
    userClaim: "email",
    groupsClaim: "groups",
    groupMapping: [
      { from: "data-*", to: "analysts" },
      { from: "eng-oncall", to: "oncall" },
      { from: "eng-platform", to: "engineers" },
    ],
  };
  Object.defineProperty(provider, "clientSecret", { get: () => clientSecret, enumerable: false });
  const providers = [...config.identity.providers.filter((p) => p.name !== DEMO_PROVIDER), provider];
  return { idp, config: { ...config, identity: { ...config.identity, providers } } };
}
