export {
  AuditEventType,
  BOOKKEEPING_TYPE_PREFIX,
  decisionEvent,
  eventId,
  gatewayEvent,
  sessionEvent,
} from "./audit-event.ts";
export { AuditLog } from "./audit-log.ts";
export { checkpointEvent } from "./checkpoint.ts";
export { fromJsonLine, toJsonLine } from "./export-line.ts";
export { JsonlFileSink, type JsonlSinkOptions } from "./jsonl-sink.ts";
export {
  applyRetention,
  RetentionJob,
  type RetentionRules,
  type RetentionSummary,
  retentionCutoffs,
  retentionEvent,
} from "./retention.ts";
export {
  type ChainProblem,
  type ChainProblemKind,
  type ChainReport,
  type ChainSource,
  type CheckpointSummary,
  type SignedHeadCheck,
  storeChainSource,
  type VerifyOptions,
  verifyChain,
} from "./verify-chain.ts";
