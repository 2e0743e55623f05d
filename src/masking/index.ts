export type { ColumnDescriptor, SourceColumn } from "./columns.ts";
export { ColumnPattern, DEFAULT_SCHEMA } from "./columns.ts";
export {
  type CopyField,
  type CopyTextFormat,
  escapeCopyText,
  formatCopyTextLine,
  parseCopyTextLine,
  unescapeCopyText,
} from "./copy-text.ts";
export type { MaskCounts } from "./counts.ts";
export {
  apiKeyDetector,
  BUILT_IN_DETECTORS,
  type CreditCardOptions,
  createCreditCardDetector,
  creditCardDetector,
  type Detector,
  DetectorRegistry,
  defaultDetectors,
  emailDetector,
  ibanDetector,
  ipv4Detector,
  ipv6Detector,
  jwtDetector,
  NO_SPANS,
  phoneDetector,
  registerDetector,
  type Span,
  usSsnDetector,
} from "./detectors/index.ts";
export type { ColumnMask, DetectionTarget, MaskerOptions, MaskRule } from "./engine.ts";
export { MaskingError } from "./errors.ts";
export { LineMasker } from "./lines.ts";
export { createMasker, type MaskedJson, type MaskedText, Masker } from "./masker.ts";
export {
  createHasher,
  DEFAULT_REDACT_TOKEN,
  type HashOptions,
  MASK_STRATEGIES,
  type MaskStrategy,
  nullify,
  type PartialOptions,
  partial,
  redact,
  redactOrNull,
  STRATEGY_STRENGTH,
  strongest,
} from "./strategies.ts";
export { type MaskedRow, TableMasker } from "./table.ts";
