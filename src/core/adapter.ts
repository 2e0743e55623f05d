import type { CommandAnalyser } from "./analyser.ts";
import type { SessionContext } from "./gate-port.ts";

/** A listening protocol front end (PostgreSQL first; MySQL, SSH, Kubernetes, HTTP later). */
export interface ProtocolAdapter {
  readonly protocol: string;
  readonly analyser: CommandAnalyser;
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stop accepting and end every live session. */
  close(): Promise<void>;
  /**
   * End the live sessions `shouldEnd` picks (revoked or expired identities), telling each client
   * why in its own protocol; returns how many were ended.
   */
  terminateSessions?(shouldEnd: (session: SessionContext) => string | undefined): number;
}
