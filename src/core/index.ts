export type { Action, Facts, FactValue } from "./action.ts";
export type { ProtocolAdapter } from "./adapter.ts";
export type { AnalysedCommand, CommandAnalyser } from "./analyser.ts";
export {
  type Connection,
  type ConnectionInfo,
  type ConnectionTarget,
  describeConnection,
} from "./connection.ts";
export type { AllowProbe, Decider } from "./decider.ts";
export {
  type ApprovalRequirement,
  type Decision,
  denial,
  type Effect,
  type MaskRequirement,
  type MaskStrategy,
} from "./decision.ts";
export { formatDuration, parseDuration } from "./duration.ts";
export { ErrorCodes, SluiceError } from "./errors.ts";
export type {
  BatchVerdict,
  DecisionReview,
  GatePort,
  HeldApproval,
  MaskingCounts,
  SessionContext,
  StatementResult,
} from "./gate-port.ts";
export { globMatches, isGlob } from "./glob.ts";
export type { Principal, PrincipalKind } from "./principal.ts";
