export { AuditEventType, decisionEvent, gatewayEvent, sessionEvent } from "./audit-event.ts";
export { AuditLog } from "./audit-log.ts";
