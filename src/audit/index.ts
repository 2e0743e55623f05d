export { AuditEventType, decisionEvent, sessionEvent } from "./audit-event.ts";
export { AuditLog } from "./audit-log.ts";
