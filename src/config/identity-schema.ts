import { z } from "zod";
import { formatDuration, parseDuration } from "../core/index.ts";
import type {
  GroupMappingRule,
  IdentityConfig,
  OidcProviderConfig,
  SamlProviderConfig,
  TrustedIssuerConfig,
} from "./identity-types.ts";
import { describeIssue } from "./issue-message.ts";
import { parseSecretRef, SECRET_REF_HINT, type SecretRef } from "./secret-ref.ts";

export const IDENTITY_DEFAULTS = {
  sessionTtl: "12h",
  revocationCheckInterval: "30s",
  providerScopes: ["openid", "profile", "email", "offline_access"],
  providerUserClaim: "email",
  groupsClaim: "groups",
  trustedUserClaim: "sub",
  trustedKind: "service",
  actClaim: "act",
  onBehalfOfGroups: "token",
  algorithms: ["RS256", "PS256", "ES256", "ES384", "EdDSA"],
} as const;

/** Asymmetric JWS algorithms a trusted issuer may be configured with. */
const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;
const CLAIM = /^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$/;

/** A provider as written in the file: the client secret is still a reference. */
export type ParsedOidcProvider = Omit<OidcProviderConfig, "clientSecret"> & {
  readonly clientSecret?: SecretRef;
};

/** A SAML provider as written in the file: the metadata path is still relative to the file. */
export type ParsedProvider = ParsedOidcProvider | SamlProviderConfig;

export type ParsedIdentityConfig = Omit<IdentityConfig, "providers"> & {
  readonly providers: readonly ParsedProvider[];
};

type Ctx = z.core.$RefinementCtx;

function fail(ctx: Ctx, message: string): never {
  ctx.issues.push({ code: "custom", message, input: undefined });
  return z.NEVER;
}

function unlessMissing(message: string) {
  return (issue: { readonly input?: unknown }) => (issue.input === undefined ? undefined : message);
}

function duration(min: number, max: number) {
  const message = `expected a duration between ${formatDuration(min)} and ${formatDuration(max)}, e.g. 30s, 15m, 12h or 7d`;
  return z.union([z.string(), z.number()], { error: unlessMissing(message) }).transform((value, ctx) => {
    const seconds = parseDuration(value);
    return seconds !== undefined && seconds >= min && seconds <= max ? seconds : fail(ctx, message);
  });
}

const URL_MESSAGE = "expected an https:// URL (http:// only on a loopback host), without query or fragment";

/** An https URL, or http on loopback; no query, fragment or credentials; no trailing slash kept. */
export function parseIdpUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") return undefined;
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackName(url.hostname))) {
    return undefined;
  }
  return text.endsWith("/") ? text.slice(0, -1) : text;
}

function isLoopbackName(hostname: string): boolean {
  const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const idpUrl = z
  .string({ error: unlessMissing(URL_MESSAGE) })
  .transform((text, ctx) => parseIdpUrl(text) ?? fail(ctx, URL_MESSAGE));

const PUBLIC_URL_MESSAGE = "expected an http:// or https:// URL without path, query or fragment";
const publicUrl = z.string({ error: unlessMissing(PUBLIC_URL_MESSAGE) }).transform((text, ctx) => {
  try {
    const url = new URL(text);
    if (
      (url.protocol === "https:" || url.protocol === "http:") &&
      (url.pathname === "/" || url.pathname === "") &&
      url.search === "" &&
      url.hash === "" &&
      url.username === "" &&
      url.password === ""
    ) {
      return url.origin;
    }
  } catch {
    // reported below
  }
  return fail(ctx, PUBLIC_URL_MESSAGE);
});

const nonEmptyString = z.string().min(1, { error: "expected a non-empty string" });
const claimName = z.string().regex(CLAIM, { error: "expected a claim name such as groups or email" });
const group = z.string().regex(GROUP, {
  error:
    "expected a group name: letters, digits, '.', '_', ':', '@', '/' or '-', starting with a letter or digit",
});

const mappingRule = z
  .strictObject({
    from: nonEmptyString,
    to: group,
  })
  .transform((rule): GroupMappingRule => ({ from: rule.from, to: rule.to }));

const groupMapping = z.array(mappingRule).optional();

const secretRef = z
  .string({ error: unlessMissing(SECRET_REF_HINT) })
  .transform((text, ctx) => parseSecretRef(text) ?? fail(ctx, SECRET_REF_HINT));

const oidcProvider = z
  .strictObject({
    name: z.string().regex(NAME, {
      error: "expected 1 to 63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
    }),
    type: z.literal("oidc"),
    issuer: idpUrl,
    client_id: nonEmptyString,
    client_secret: secretRef.optional(),
    scopes: z
      .array(nonEmptyString)
      .refine((scopes) => scopes.includes("openid"), { error: "must include openid" })
      .prefault([...IDENTITY_DEFAULTS.providerScopes]),
    user_claim: claimName.prefault(IDENTITY_DEFAULTS.providerUserClaim),
    groups_claim: claimName.prefault(IDENTITY_DEFAULTS.groupsClaim),
    group_mapping: groupMapping,
  })
  .transform(
    (value): ParsedOidcProvider => ({
      name: value.name,
      type: "oidc",
      issuer: value.issuer,
      clientId: value.client_id,
      ...(value.client_secret === undefined ? {} : { clientSecret: value.client_secret }),
      scopes: value.scopes,
      userClaim: value.user_claim,
      groupsClaim: value.groups_claim,
      groupMapping: value.group_mapping,
    }),
  );

const METADATA_MESSAGE = "expected file:<path> of the identity provider's SAML metadata";

const samlProvider = z
  .strictObject({
    name: z.string().regex(NAME, {
      error: "expected 1 to 63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
    }),
    type: z.literal("saml"),
    metadata: z
      .string({ error: unlessMissing(METADATA_MESSAGE) })
      .transform((text, ctx) =>
        text.startsWith("file:") && text.length > "file:".length
          ? text.slice("file:".length)
          : fail(ctx, METADATA_MESSAGE),
      ),
    entity_id: nonEmptyString.optional(),
    user_attribute: claimName.optional(),
    groups_attribute: claimName.prefault(IDENTITY_DEFAULTS.groupsClaim),
    group_mapping: groupMapping,
  })
  .transform(
    (value): SamlProviderConfig => ({
      name: value.name,
      type: "saml",
      metadataPath: value.metadata,
      entityId: value.entity_id,
      userAttribute: value.user_attribute,
      groupsAttribute: value.groups_attribute,
      groupMapping: value.group_mapping,
    }),
  );

const PROVIDER_TYPES = ["oidc", "saml"] as const;

/** `type` decides the shape. */
const provider = z.unknown().transform((value, ctx): ParsedProvider => {
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(ctx, "expected a map with name, type, issuer and client_id");
  }
  if (type !== "oidc" && type !== "saml") {
    ctx.issues.push({
      code: "custom",
      path: ["type"],
      message: type === undefined ? "missing required key" : `expected one of ${PROVIDER_TYPES.join(", ")}`,
      input: undefined,
    });
    return value as ParsedProvider;
  }
  const result = (type === "saml" ? samlProvider : oidcProvider).safeParse(value, { error: describeIssue });
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.issues.push({ ...issue, input: undefined });
  // Keep the raw entry so that duplicate names are still found (the parse has failed anyway).
  return value as ParsedProvider;
});

const trustedIssuer = z
  .strictObject({
    issuer: idpUrl,
    audience: nonEmptyString,
    kind: z
      .enum(["human", "service", "agent"], { error: unlessMissing("expected human, service or agent") })
      .prefault(IDENTITY_DEFAULTS.trustedKind),
    user_claim: claimName.prefault(IDENTITY_DEFAULTS.trustedUserClaim),
    groups_claim: claimName.prefault(IDENTITY_DEFAULTS.groupsClaim),
    group_mapping: groupMapping,
    algorithms: z
      .array(
        z.enum(ASYMMETRIC_ALGORITHMS, {
          error: unlessMissing(
            `expected asymmetric JWS algorithms (${ASYMMETRIC_ALGORITHMS.join(", ")}); none and HMAC are never accepted`,
          ),
        }),
      )
      .min(1, { error: "expected at least one algorithm" })
      .prefault([...IDENTITY_DEFAULTS.algorithms]),
    act_claim: claimName.prefault(IDENTITY_DEFAULTS.actClaim),
    on_behalf_of_groups: z
      .enum(["token", "login_session"], { error: unlessMissing("expected token or login_session") })
      .prefault(IDENTITY_DEFAULTS.onBehalfOfGroups),
  })
  .transform(
    (value): TrustedIssuerConfig => ({
      issuer: value.issuer,
      audience: value.audience,
      kind: value.kind,
      userClaim: value.user_claim,
      groupsClaim: value.groups_claim,
      groupMapping: value.group_mapping,
      algorithms: value.algorithms,
      actClaim: value.act_claim,
      onBehalfOfGroups: value.on_behalf_of_groups,
    }),
  );

function uniqueBy<T>(key: (item: T) => unknown, what: string, field: string) {
  return (items: T[], ctx: Ctx) => {
    const first = new Map<unknown, number>();
    for (const [index, item] of items.entries()) {
      const value = key(item);
      if (typeof value !== "string") continue;
      const seen = first.get(value);
      if (seen === undefined) first.set(value, index);
      else {
        ctx.issues.push({
          code: "custom",
          path: [index, field],
          message: `duplicate ${what} (first used by [${seen}])`,
          input: undefined,
        });
      }
    }
  };
}

/** The `identity` section. */
export const identitySchema = z
  .strictObject({
    providers: z
      .array(provider)
      .superRefine(
        uniqueBy((p: ParsedProvider) => p?.name, "provider name", "name"),
        {
          when: (payload) => Array.isArray(payload.value),
        },
      )
      .prefault([]),
    trusted_issuers: z
      .array(trustedIssuer)
      .superRefine(
        uniqueBy((t: TrustedIssuerConfig) => t?.issuer, "issuer", "issuer"),
        {
          when: (payload) => Array.isArray(payload.value),
        },
      )
      .prefault([]),
    session_ttl: duration(60, 30 * 86_400).prefault(IDENTITY_DEFAULTS.sessionTtl),
    revocation_check_interval: duration(1, 3600).prefault(IDENTITY_DEFAULTS.revocationCheckInterval),
    public_url: publicUrl.optional(),
  })
  .transform(
    (value): ParsedIdentityConfig => ({
      providers: value.providers,
      trustedIssuers: value.trusted_issuers,
      sessionTtlSeconds: value.session_ttl,
      revocationCheckIntervalSeconds: value.revocation_check_interval,
      publicUrl: value.public_url,
    }),
  );
