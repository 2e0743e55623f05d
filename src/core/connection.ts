/** A named backend the gateway guards. The target (with its secret) never leaves the gateway. */
export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly database?: string;
  readonly user?: string;
  /** Resolved secret; never logged, never sent to a client. */
  readonly password?: string;
}

export interface Connection {
  readonly name: string;
  readonly protocol: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly target: ConnectionTarget;
}

/** The part of a connection that policy, audit and clients may see. */
export interface ConnectionInfo {
  readonly name: string;
  readonly protocol: string;
  readonly labels: Readonly<Record<string, string>>;
}

export function describeConnection(connection: Connection): ConnectionInfo {
  return { name: connection.name, protocol: connection.protocol, labels: connection.labels };
}
