export { AuditEventType, decisionEvent, eventId, gatewayEvent, sessionEvent } from "./audit-event.ts";
export { AuditLog } from "./audit-log.ts";
