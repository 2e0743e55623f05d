import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inflateRawSync } from "node:zlib";
import { generate } from "selfsigned";
import { SignedXml } from "xml-crypto";

/** An RSA key pair and self-signed certificate, as PEM, and the certificate's base64 DER. */
export interface SigningMaterial {
  readonly privateKey: string;
  readonly certPem: string;
  readonly certBase64: string;
}

export async function signingMaterial(commonName = "test-saml-idp"): Promise<SigningMaterial> {
  const pems = await generate([{ name: "commonName", value: commonName }], {
    keySize: 2048,
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + 86_400_000),
  });
  const certBase64 = pems.cert.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, "");
  return { privateKey: pems.private, certPem: pems.cert, certBase64 };
}

/** What a gateway's AuthnRequest asked for. */
export interface AuthnRequest {
  readonly id: string;
  readonly issuer: string;
  readonly acsUrl: string;
  readonly relayState: string;
}

export interface AssertionOptions {
  readonly request: AuthnRequest;
  readonly nameId: string;
  readonly attributes?: Readonly<Record<string, readonly string[]>>;
  /** `assertion` (default), `response` (only the Response, not the Assertion), `none`. */
  readonly sign?: "assertion" | "response" | "none";
  /** Sign with this material instead of the IdP's own (a forged assertion). */
  readonly signer?: SigningMaterial;
  readonly audience?: string;
  readonly issuer?: string;
  readonly assertionId?: string;
  /** Seconds the assertion stays valid (negative: already expired). Default 300. */
  readonly validForSeconds?: number;
  /** Changes the signed XML after signing (tampering). */
  readonly tamper?: (xml: string) => string;
}

export interface TestSamlIdp {
  readonly entityId: string;
  readonly ssoUrl: string;
  /** The IdP's SAML metadata (entity id, HTTP-Redirect SSO URL, signing certificate). */
  readonly metadataXml: string;
  readonly material: SigningMaterial;
  /** Reads the AuthnRequest out of the gateway's redirect to the IdP. */
  parseRequest(location: string): AuthnRequest;
  /** A base64 SAMLResponse for `request`, signed as asked. */
  response(options: AssertionOptions): string;
  /**
   * What the IdP's SSO endpoint does for the next request (a signed-in user): the auto-posting
   * form a real IdP returns after its login page. Default: alice, assertion signed.
   */
  respondAs(options: Omit<AssertionOptions, "request"> | undefined): void;
  close(): Promise<void>;
}

const xmlEscape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * A minimal SAML 2.0 IdP for tests, on loopback: it reads HTTP-Redirect AuthnRequests at
 * `/sso` and answers with an auto-posting form carrying a Response whose Assertion it signs
 * (RSA-SHA256, exclusive c14n) with xml-crypto, like a real IdP after its login page.
 */
export async function startTestSamlIdp(): Promise<TestSamlIdp> {
  const material = await signingMaterial();
  let next: Omit<AssertionOptions, "request"> | undefined;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://idp.invalid");
    if (url.pathname !== "/sso") return void res.writeHead(404).end();
    let request: AuthnRequest;
    try {
      request = idp.parseRequest(url.href);
    } catch {
      return void res.writeHead(400).end("bad AuthnRequest");
    }
    const samlResponse = idp.response({ nameId: "alice@corp.example", ...next, request });
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<html><body onload="document.forms[0].submit()">
<form method="post" action="${xmlEscape(request.acsUrl)}">
<input type="hidden" name="SAMLResponse" value="${xmlEscape(samlResponse)}">
<input type="hidden" name="RelayState" value="${xmlEscape(request.relayState)}">
</form></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const entityId = `${base}/metadata`;
  const ssoUrl = `${base}/sso`;
  const metadataXml = `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="false">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>${material.certBase64}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${ssoUrl}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`;

  const idp: TestSamlIdp = {
    entityId,
    ssoUrl,
    metadataXml,
    material,
    parseRequest(location) {
      const url = new URL(location);
      const encoded = url.searchParams.get("SAMLRequest");
      if (encoded === null) throw new Error("no SAMLRequest");
      const xml = inflateRawSync(Buffer.from(encoded, "base64")).toString("utf8");
      const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(xml)?.[1];
      const issuer = /<(?:saml2?:)?Issuer[^>]*>([^<]*)</.exec(xml)?.[1];
      const id = attr("ID");
      const acsUrl = attr("AssertionConsumerServiceURL");
      if (id === undefined || acsUrl === undefined || issuer === undefined)
        throw new Error("bad AuthnRequest");
      return { id, issuer, acsUrl, relayState: url.searchParams.get("RelayState") ?? "" };
    },
    response(options) {
      const now = Date.now();
      const at = (offsetSeconds: number) => new Date(now + offsetSeconds * 1000).toISOString();
      const valid = options.validForSeconds ?? 300;
      const issuer = options.issuer ?? entityId;
      const { request } = options;
      const assertionId = options.assertionId ?? `_a${randomBytes(16).toString("hex")}`;
      const attributes = Object.entries(options.attributes ?? {})
        .map(
          ([name, values]) =>
            `<saml:Attribute Name="${xmlEscape(name)}">${values
              .map((value) => `<saml:AttributeValue>${xmlEscape(value)}</saml:AttributeValue>`)
              .join("")}</saml:Attribute>`,
        )
        .join("");
      const assertion = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${assertionId}" Version="2.0" IssueInstant="${at(0)}"><saml:Issuer>${xmlEscape(issuer)}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${xmlEscape(options.nameId)}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${xmlEscape(request.id)}" NotOnOrAfter="${at(valid)}" Recipient="${xmlEscape(request.acsUrl)}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="${at(-60)}" NotOnOrAfter="${at(valid)}"><saml:AudienceRestriction><saml:Audience>${xmlEscape(options.audience ?? request.issuer)}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="${at(0)}" SessionIndex="_s${randomBytes(8).toString("hex")}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>${attributes === "" ? "" : `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>`}</saml:Assertion>`;
      const sign = options.sign ?? "assertion";
      const signer = options.signer ?? material;
      const signedAssertion = sign === "assertion" ? signElement(assertion, "Assertion", signer) : assertion;
      let response = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${randomBytes(16).toString("hex")}" Version="2.0" IssueInstant="${at(0)}" Destination="${xmlEscape(request.acsUrl)}" InResponseTo="${xmlEscape(request.id)}"><saml:Issuer>${xmlEscape(issuer)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${signedAssertion}</samlp:Response>`;
      if (sign === "response") response = signElement(response, "Response", signer);
      if (options.tamper !== undefined) response = options.tamper(response);
      return Buffer.from(response).toString("base64");
    },
    respondAs(options) {
      next = options;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return idp;
}

/** Signs the element `name` (its first occurrence), the signature placed after its Issuer. */
function signElement(xml: string, name: "Assertion" | "Response", signer: SigningMaterial): string {
  const signed = new SignedXml({
    privateKey: signer.privateKey,
    publicCert: signer.certPem,
    signatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
  });
  const element = `/*[local-name(.)='${name}']`;
  const path = name === "Response" ? element : `//*[local-name(.)='Assertion']`;
  signed.addReference({
    xpath: path,
    digestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
    transforms: [
      "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
      "http://www.w3.org/2001/10/xml-exc-c14n#",
    ],
  });
  signed.computeSignature(xml, {
    location: { reference: `${path}/*[local-name(.)='Issuer']`, action: "after" },
  });
  return signed.getSignedXml();
}
