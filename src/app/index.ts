export { type GatewayOptions, type RunningGateway, startGateway } from "./gateway.ts";
export { ADMIN_GROUP } from "./http-server.ts";
export { agentTokenAuditEvent, loginAuditEvent, serviceAccountAuditEvent } from "./identity-audit.ts";
export type { PolicyReloadResult, PolicyReloadTrigger } from "./policy-reloader.ts";
