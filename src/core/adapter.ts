import type { CommandAnalyser } from "./analyser.ts";

/** A listening protocol front end (PostgreSQL first; MySQL, SSH, Kubernetes, HTTP later). */
export interface ProtocolAdapter {
  readonly protocol: string;
  readonly analyser: CommandAnalyser;
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stop accepting and end every live session. */
  close(): Promise<void>;
}
