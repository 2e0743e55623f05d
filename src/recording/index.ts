export {
  type AsciicastEvent,
  asciicastEvents,
  asciicastHeader,
  asciicastLine,
  isTerminalSession,
  toAsciicast,
} from "./asciicast.ts";
export { type Chunk, chunkHash, GENESIS_HASH, makeChunk, parseLine, type Seal, toLine } from "./chunk.ts";
export {
  type Cell,
  type Direction,
  directionOf,
  type EndEvent,
  type InputEvent,
  type OutputEvent,
  RECORDING_FORMAT,
  type RecordingEvent,
  type ResizeEvent,
  type ResultEvent,
  resultEvent,
  type StartEvent,
  type StatementEvent,
  type StoredEvent,
  startEvent,
  statementEvent,
  type TruncatedEvent,
} from "./events.ts";
export { FileRecordingStore, type FileRecordingStoreOptions } from "./file-store.ts";
export {
  PostgresRecordingStore,
  type PostgresRecordingStoreOptions,
  type RecordingPoolSource,
} from "./postgres-recording-store.ts";
export {
  chunksOf,
  type RecordingContents,
  type RecordingEntry,
  RecordingReader,
  readRecording,
  sealOf,
} from "./recording-file.ts";
export {
  type RecorderHealth,
  type RecordingFailure,
  type SealResult,
  SessionRecorder,
  type SessionRecorderOptions,
} from "./session-recorder.ts";
export { isValidSessionId, type RecordingStore } from "./store.ts";
export { type RecordingSummary, startOf, summarize } from "./summary.ts";
export { escapeText, renderChunk, renderHeader, type TimelineOptions } from "./timeline.ts";
export {
  describeStatus,
  type RecordingProblem,
  type RecordingProblemKind,
  type RecordingReport,
  type RecordingStatus,
  type SealSignatureCheck,
  type VerifyRecordingOptions,
  verifyRecording,
} from "./verify-recording.ts";
