export {
  AuditEventType,
  BOOKKEEPING_TYPE_PREFIX,
  decisionEvent,
  eventId,
  gatewayEvent,
  maskingEvent,
  sessionEvent,
} from "./audit-event.ts";
export { AuditLog } from "./audit-log.ts";
export { checkpointEvent } from "./checkpoint.ts";
export { type AuditSink, CursorSink, type CursorSinkOptions, type RetryBackoff } from "./cursor-sink.ts";
export { fromJsonLine, toJsonLine } from "./export-line.ts";
export { postWithDeadline } from "./http-post.ts";
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
  escapeParamValue,
  formatSyslogMessage,
  frameOctetCounted,
  SYSLOG_SD_ID,
} from "./syslog-message.ts";
export { SyslogSink, type SyslogSinkOptions, type SyslogTransport } from "./syslog-sink.ts";
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
export {
  signWebhook,
  verifyWebhook,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  WebhookSink,
  type WebhookSinkOptions,
  type WebhookVerification,
} from "./webhook-sink.ts";
