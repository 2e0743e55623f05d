import type { AuditRecord, ChainHead } from "../store/index.ts";
import { AuditEventType, gatewayEvent } from "./audit-event.ts";

/**
 * The `audit.checkpoint` event: the gateway's signature over the chain's head at the time
 * (`jws`: a compact JWS, ES256, over `{"seq":…,"hash":…}`), so that a rewritten chain no longer
 * matches a signature only the gateway's key can make.
 */
export function checkpointEvent(head: ChainHead, kid: string, jws: string): AuditRecord {
  return gatewayEvent(AuditEventType.checkpoint, { head: { seq: head.seq, hash: head.hash }, kid, jws });
}
