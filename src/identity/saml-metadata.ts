import { DOMParser } from "@xmldom/xmldom";

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS = "http://www.w3.org/2000/09/xmldsig#";
const HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/** What the gateway needs of a SAML IdP's metadata. */
export interface SamlIdpMetadata {
  readonly entityId: string;
  /** The SingleSignOnService location for the HTTP-Redirect binding (where AuthnRequests go). */
  readonly ssoUrl: string;
  /** Base64 DER of each signing certificate (assertions must be signed by one of them). */
  readonly certificates: readonly string[];
}

/** A metadata document that cannot be used; the message says why (never a secret in it). */
export class SamlMetadataError extends Error {
  override readonly name = "SamlMetadataError";
}

/**
 * Reads an IdP's SAML 2.0 metadata: one EntityDescriptor with an IDPSSODescriptor, an
 * HTTP-Redirect SingleSignOnService (https, or http on loopback) and at least one signing
 * certificate. Anything else is refused: a gateway that cannot check signatures must not start.
 */
export function parseSamlIdpMetadata(xml: string, isAllowedUrl: (url: string) => boolean): SamlIdpMetadata {
  const errors: string[] = [];
  const doc = new DOMParser({
    errorHandler: (level: string, message: unknown) => {
      if (level !== "warning") errors.push(String(message));
    },
  }).parseFromString(xml, "text/xml");
  const root = doc?.documentElement;
  if (errors.length > 0 || root === null || root === undefined) {
    throw new SamlMetadataError(`not well-formed XML${errors[0] ? `: ${errors[0].split("\n")[0]}` : ""}`);
  }
  if (root.namespaceURI !== MD || root.localName !== "EntityDescriptor") {
    throw new SamlMetadataError("expected an md:EntityDescriptor as the document element");
  }
  const entityId = root.getAttribute("entityID") ?? "";
  if (entityId === "") throw new SamlMetadataError("the EntityDescriptor has no entityID");
  const idp = children(root, MD, "IDPSSODescriptor")[0];
  if (idp === undefined) throw new SamlMetadataError("no IDPSSODescriptor");
  const sso = children(idp, MD, "SingleSignOnService").find(
    (e) => e.getAttribute("Binding") === HTTP_REDIRECT,
  );
  const ssoUrl = sso?.getAttribute("Location") ?? "";
  if (ssoUrl === "") throw new SamlMetadataError("no SingleSignOnService with the HTTP-Redirect binding");
  if (!isAllowedUrl(ssoUrl)) {
    throw new SamlMetadataError("the SingleSignOnService must be https (http only on loopback)");
  }
  const certificates: string[] = [];
  for (const descriptor of children(idp, MD, "KeyDescriptor")) {
    const use = descriptor.getAttribute("use");
    if (use !== null && use !== "" && use !== "signing") continue;
    for (const info of children(descriptor, DS, "KeyInfo")) {
      for (const data of children(info, DS, "X509Data")) {
        for (const cert of children(data, DS, "X509Certificate")) {
          const text = (cert.textContent ?? "").replace(/\s+/g, "");
          if (/^[A-Za-z0-9+/]+=*$/.test(text)) certificates.push(text);
        }
      }
    }
  }
  if (certificates.length === 0)
    throw new SamlMetadataError("no signing certificate in the IDPSSODescriptor");
  return { entityId, ssoUrl, certificates };
}

function children(parent: Element, namespace: string, name: string): Element[] {
  const result: Element[] = [];
  for (let node = parent.firstChild; node !== null; node = node.nextSibling) {
    const element = node as Element;
    if (node.nodeType === 1 && element.namespaceURI === namespace && element.localName === name) {
      result.push(element);
    }
  }
  return result;
}
