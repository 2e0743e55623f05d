/** One PostgreSQL connection of a test configuration; its password is read from `passwordFile`. */
export interface TestConnection {
  readonly name: string;
  readonly env: string;
  readonly port: number;
  readonly database?: string;
  readonly user?: string;
  /** Omitted for a server that trusts the gateway. */
  readonly passwordFile?: string;
}

/** A gateway configuration on free loopback ports with a local store and signing key. */
export function configYaml(options: {
  connections: readonly TestConnection[];
  policies?: string;
  /** The store location; default `sqlite:./data/sluice.db`. */
  store?: string;
  extra?: string;
}): string {
  const connections = options.connections
    .map(
      (c) => `  - name: ${c.name}
    protocol: postgres
    labels: { env: ${c.env} }
    target: { host: 127.0.0.1, port: ${c.port}, database: ${c.database ?? "app"}, user: ${c.user ?? "app"}${c.passwordFile ? `, password: file:${c.passwordFile}` : ""} }`,
    )
    .join("\n");
  return `listeners: { http: 127.0.0.1:0, postgres: 127.0.0.1:0 }
store: ${options.store ?? "sqlite:./data/sluice.db"}
signing_key: file:./data/signing-key.pem
policies: ${options.policies ?? "./policies"}
${options.extra ?? ""}
connections:
${connections}
`;
}
