import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSamlIdpMetadata, SamlMetadataError } from "./saml-metadata.ts";

const CERT = "MIIBszCCAVmgAwIBAgIUQ29ycA==";
const allowed = (url: string) => url.startsWith("https://") || url.startsWith("http://127.0.0.1");

function metadata(parts: { sso?: string; keys?: string; entity?: string } = {}): string {
  return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ${parts.entity ?? 'entityID="https://idp.example.com/saml"'}>
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    ${
      parts.keys ??
      `<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>ENCRYPTIONONLY</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
      ${CERT}
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
    }
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/post"/>
    ${parts.sso ?? '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>'}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
}

describe("SAML IdP metadata", () => {
  it("reads the entity id, the HTTP-Redirect SSO URL and only signing certificates", () => {
    assert.deepEqual(parseSamlIdpMetadata(metadata(), allowed), {
      entityId: "https://idp.example.com/saml",
      ssoUrl: "https://idp.example.com/sso",
      certificates: [CERT],
    });
  });

  it("refuses metadata the gateway could not verify assertions with", () => {
    const refused = (xml: string, message: RegExp) =>
      assert.throws(
        () => parseSamlIdpMetadata(xml, allowed),
        (error: unknown) => error instanceof SamlMetadataError && message.test(error.message),
      );
    refused("<not-xml", /not well-formed|EntityDescriptor/);
    refused("<EntityDescriptor/>", /expected an md:EntityDescriptor/);
    refused(metadata({ entity: "" }), /no entityID/);
    refused(metadata({ sso: "" }), /HTTP-Redirect/);
    refused(
      metadata({
        sso: '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="http://idp.example.com/sso"/>',
      }),
      /must be https/,
    );
    refused(metadata({ keys: "" }), /no signing certificate/);
  });
});
