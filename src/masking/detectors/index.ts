export { apiKeyDetector, TOKEN_FORMATS } from "./api-key.ts";
export {
  type CreditCardOptions,
  createCreditCardDetector,
  creditCardDetector,
  knownIssuer,
} from "./credit-card.ts";
export { emailDetector } from "./email.ts";
export { ibanDetector } from "./iban.ts";
export { ipv4Detector } from "./ipv4.ts";
export { ipv6Detector } from "./ipv6.ts";
export { jwtDetector } from "./jwt.ts";
export { NATIONAL_SHAPES, phoneDetector } from "./phone.ts";
export {
  BUILT_IN_DETECTORS,
  DETECTOR_NAME,
  DetectorRegistry,
  defaultDetectors,
  registerDetector,
} from "./registry.ts";
export { type Detector, NO_SPANS, type Span } from "./types.ts";
export { usSsnDetector } from "./us-ssn.ts";
