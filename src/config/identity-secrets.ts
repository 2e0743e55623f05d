import { resolve } from "node:path";
import type { ParsedIdentityConfig } from "./identity-schema.ts";
import type { IdentityConfig, IdentityProviderConfig, OidcProviderConfig } from "./identity-types.ts";
import { type ResolveSecretOptions, resolveSecret } from "./secret-ref.ts";

/**
 * Resolves the providers' client secrets. Each secret becomes a non-enumerable property, so it
 * never shows in JSON or inspect output; `skip` leaves them out (CLI commands that never log in).
 * Failures are reported through `onFailure` with the key path of the reference.
 */
export async function resolveIdentitySecrets(
  parsed: ParsedIdentityConfig,
  baseDir: string,
  options: ResolveSecretOptions & { readonly skip?: boolean },
  onFailure: (path: (string | number)[], error: unknown) => void,
): Promise<IdentityConfig> {
  const providers = await Promise.all(
    parsed.providers.map(async (provider, index): Promise<IdentityProviderConfig> => {
      // SAML providers carry no secret; their metadata file is relative to the configuration.
      if (provider.type === "saml")
        return { ...provider, metadataPath: resolve(baseDir, provider.metadataPath) };
      const { clientSecret: ref, ...visible } = provider;
      const copy: OidcProviderConfig = { ...visible };
      if (ref === undefined || options.skip) return copy;
      try {
        const secret = await resolveSecret(ref, baseDir, options);
        Object.defineProperty(copy, "clientSecret", { get: () => secret, enumerable: false });
      } catch (error) {
        onFailure(["identity", "providers", index, "client_secret"], error);
      }
      return copy;
    }),
  );
  return { ...parsed, providers };
}
