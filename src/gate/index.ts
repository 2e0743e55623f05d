export { ApprovalGate } from "./approval-gate.ts";
export { Gate, type GateOptions } from "./gate.ts";
