import { apiKeyDetector } from "./api-key.ts";
import { creditCardDetector } from "./credit-card.ts";
import { emailDetector } from "./email.ts";
import { ibanDetector } from "./iban.ts";
import { ipv4Detector } from "./ipv4.ts";
import { ipv6Detector } from "./ipv6.ts";
import { jwtDetector } from "./jwt.ts";
import { phoneDetector } from "./phone.ts";
import type { Detector } from "./types.ts";
import { usSsnDetector } from "./us-ssn.ts";

/** Detector names as policy rules write them (`detectors: [email, credit_card]`). */
export const DETECTOR_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export const BUILT_IN_DETECTORS: readonly Detector[] = [
  emailDetector,
  creditCardDetector,
  usSsnDetector,
  phoneDetector,
  ibanDetector,
  ipv4Detector,
  ipv6Detector,
  jwtDetector,
  apiKeyDetector,
];

/** Detectors by name. Names are unique: registering a taken name is an error, never a replacement. */
export class DetectorRegistry {
  readonly #detectors = new Map<string, Detector>();

  constructor(detectors: Iterable<Detector> = BUILT_IN_DETECTORS) {
    for (const detector of detectors) this.register(detector);
  }

  register(detector: Detector): void {
    if (typeof detector?.find !== "function") throw new TypeError("a detector needs a find(text) method");
    if (!DETECTOR_NAME.test(detector.name)) {
      throw new TypeError(`detector name ${JSON.stringify(detector.name)} must match ${DETECTOR_NAME}`);
    }
    if (this.#detectors.has(detector.name))
      throw new TypeError(`detector ${detector.name} is already registered`);
    this.#detectors.set(detector.name, detector);
  }

  get(name: string): Detector | undefined {
    return this.#detectors.get(name);
  }

  has(name: string): boolean {
    return this.#detectors.has(name);
  }

  names(): string[] {
    return [...this.#detectors.keys()];
  }
}

/** The process-wide registry maskers use unless given their own: the built-ins plus `registerDetector`. */
export const defaultDetectors = new DetectorRegistry();

/** Adds a detector to the default registry, for policies to name in `mask.detectors`. */
export function registerDetector(detector: Detector): void {
  defaultDetectors.register(detector);
}
