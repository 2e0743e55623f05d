import { type Profile, SAML, ValidateInResponseTo } from "@node-saml/node-saml";
import { type GroupRule, mapGroups } from "./group-mapping.ts";
import type { IdpIdentity, SessionProvider } from "./login-sessions.ts";
import type { SamlIdpMetadata } from "./saml-metadata.ts";
import { type Clock, systemClock } from "./token-settings.ts";

export interface SamlProviderSettings {
  readonly name: string;
  readonly metadata: SamlIdpMetadata;
  /** The gateway's entity id at the IdP (the assertions' audience). Absent: `<public_url>/saml/<name>`. */
  readonly entityId?: string | undefined;
  /** The attribute that names the user; absent: the NameID. */
  readonly userAttribute?: string | undefined;
  readonly groupsAttribute: string;
  readonly groupMapping: readonly GroupRule[] | undefined;
}

export interface SamlLoginOptions {
  /** Clock skew accepted on the assertion's times. Default 30 s. */
  readonly clockSkewSeconds?: number;
  /** How long an AuthnRequest may wait for its answer. Default 10 min. */
  readonly requestTtlMs?: number;
  readonly now?: Clock;
}

/** A SAML response that was refused; the message is for the gateway's log (no assertion in it). */
export class SamlLoginError extends Error {
  override readonly name = "SamlLoginError";
}

/** Attribute and NameID values longer than this are refused (they end up in tokens). */
const MAX_VALUE = 512;
/** Remembered assertion ids; beyond this many the oldest are dropped early (they expire soon anyway). */
const MAX_SEEN = 100_000;

/**
 * Browser login at a SAML 2.0 IdP (SP-initiated, HTTP-Redirect AuthnRequest, HTTP-POST response)
 * with @node-saml/node-saml. An assertion is accepted only when it is signed by a certificate of
 * the IdP's metadata (an unsigned or wrongly signed one is refused, whether or not the response
 * around it is signed), is issued by that IdP, is addressed to this gateway (audience, recipient),
 * is within its validity window, answers an AuthnRequest this gateway sent and has not answered
 * yet (InResponseTo, so IdP-initiated responses are refused), and has not been seen before
 * (assertion ids are kept until the assertion expires).
 */
export class SamlProviderLogin implements SessionProvider {
  readonly name: string;
  readonly #settings: SamlProviderSettings;
  readonly #options: SamlLoginOptions;
  readonly #now: Clock;
  readonly #seen = new Map<string, number>();
  #saml: { readonly publicUrl: string; readonly saml: SAML } | undefined;

  constructor(settings: SamlProviderSettings, options: SamlLoginOptions = {}) {
    this.name = settings.name;
    this.#settings = settings;
    this.#options = options;
    this.#now = options.now ?? systemClock;
  }

  mapGroups(idpGroups: readonly string[]): string[] {
    return mapGroups(idpGroups, this.#settings.groupMapping);
  }

  /** The entity id the gateway uses at this IdP. */
  entityId(publicUrl: string): string {
    return this.#settings.entityId ?? `${publicUrl}/saml/${encodeURIComponent(this.name)}`;
  }

  /** The gateway's SP metadata for this IdP (entity id, ACS URL), to register it there. */
  serviceProviderMetadata(publicUrl: string): string {
    return this.#client(publicUrl).generateServiceProviderMetadata(null, null);
  }

  /** The IdP URL (with a deflated, unsigned AuthnRequest) that starts a login; `relayState` comes back. */
  beginBrowser(publicUrl: string, relayState: string): Promise<string> {
    return this.#client(publicUrl).getAuthorizeUrlAsync(relayState, undefined, {});
  }

  /** Checks the IdP's POSTed `SAMLResponse` and says who logged in. Throws SamlLoginError. */
  async completeBrowser(publicUrl: string, samlResponse: string): Promise<IdpIdentity> {
    let profile: Profile | null;
    try {
      ({ profile } = await this.#client(publicUrl).validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (error) {
      throw new SamlLoginError(`response refused: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (profile === null) throw new SamlLoginError("response refused: no assertion");
    if (profile.issuer !== this.#settings.metadata.entityId) {
      throw new SamlLoginError("response refused: issued by another entity");
    }
    this.#rememberAssertion(profile);
    const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
    const userAttribute = this.#settings.userAttribute;
    const user = userAttribute === undefined ? profile.nameID : single(attributes[userAttribute]);
    if (typeof user !== "string" || user === "" || user.length > MAX_VALUE) {
      throw new SamlLoginError(`response refused: no usable ${userAttribute ?? "NameID"}`);
    }
    const raw = attributes[this.#settings.groupsAttribute];
    const groups = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    if (!groups.every((group) => typeof group === "string" && group.length <= MAX_VALUE)) {
      throw new SamlLoginError(`response refused: bad ${this.#settings.groupsAttribute} attribute`);
    }
    return { user, idpGroups: (groups as string[]).filter((group) => group !== "") };
  }

  /** Refuses an assertion id seen before; keeps it until the assertion could no longer be used. */
  #rememberAssertion(profile: Profile): void {
    const assertion = (profile.getAssertion?.() ?? {}) as {
      Assertion?: {
        $?: { ID?: string };
        Conditions?: { $?: { NotOnOrAfter?: string } }[];
        Subject?: {
          SubjectConfirmation?: { SubjectConfirmationData?: { $?: { NotOnOrAfter?: string } }[] }[];
        }[];
      };
    };
    const id = assertion.Assertion?.$?.ID;
    if (typeof id !== "string" || id === "")
      throw new SamlLoginError("response refused: assertion without ID");
    const now = this.#now().getTime();
    for (const [seenId, until] of this.#seen) {
      if (until > now && this.#seen.size < MAX_SEEN) break;
      this.#seen.delete(seenId);
    }
    if (this.#seen.has(id)) throw new SamlLoginError("response refused: assertion replayed");
    const skew = (this.#options.clockSkewSeconds ?? 30) * 1000;
    const ends = [
      assertion.Assertion?.Conditions?.[0]?.$?.NotOnOrAfter,
      assertion.Assertion?.Subject?.[0]?.SubjectConfirmation?.[0]?.SubjectConfirmationData?.[0]?.$
        ?.NotOnOrAfter,
    ]
      .map((text) => (text === undefined ? Number.NaN : Date.parse(text)))
      .filter((time) => Number.isFinite(time));
    // Without an end, for as long as an AuthnRequest may be answered.
    const until =
      (ends.length > 0 ? Math.max(...ends) : now + (this.#options.requestTtlMs ?? 600_000)) + skew;
    // Insertion order is expiry order only roughly; the sweep above is a bound, not a schedule.
    this.#seen.set(id, until);
  }

  #client(publicUrl: string): SAML {
    if (this.#saml?.publicUrl === publicUrl) return this.#saml.saml;
    const entityId = this.entityId(publicUrl);
    const saml = new SAML({
      callbackUrl: `${publicUrl}/saml/acs`,
      entryPoint: this.#settings.metadata.ssoUrl,
      issuer: entityId,
      audience: entityId,
      idpCert: this.#settings.metadata.certificates.map(pem),
      idpIssuer: this.#settings.metadata.entityId,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: this.#options.requestTtlMs ?? 600_000,
      acceptedClockSkewMs: (this.#options.clockSkewSeconds ?? 30) * 1000,
      maxAssertionAgeMs: 10 * 60_000,
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      signatureAlgorithm: "sha256",
    });
    this.#saml = { publicUrl, saml };
    return saml;
  }
}

function single(value: unknown): unknown {
  return Array.isArray(value) && value.length === 1 ? value[0] : value;
}

function pem(base64: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END CERTIFICATE-----\n`;
}
