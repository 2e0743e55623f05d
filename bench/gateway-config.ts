import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A realistic production bundle: deny rules that every statement is checked against, an allow
 * for engineers' reads, an approval rule for writes in prod, and a mask rule for PII tables.
 */
export const BENCH_POLICY = `apiVersion: sluice/v1
rules:
  - id: sql-opaque
    description: Text the analyser could not understand, or SQL built at run time
    match: { protocols: [postgres] }
    when: "!sql.parsed || sql.dynamic"
    effect: deny
    reason: Sluice could not analyse this statement
  - id: no-drop-in-prod
    description: Nobody drops or truncates tables in production
    match: { protocols: [postgres], connections: { labels: { env: prod } } }
    when: '"drop" in sql.kinds || "truncate" in sql.kinds'
    effect: deny
    reason: DROP and TRUNCATE are not allowed on {{connection.name}}
  - id: no-unfiltered-writes-prod
    match: { protocols: [postgres], connections: { labels: { env: prod } } }
    when: size(sql.unfiltered_writes) > 0
    effect: deny
    reason: "UPDATE/DELETE without WHERE on {{sql.unfiltered_writes}} is not allowed on {{connection.name}}"
  - id: no-role-or-search-path
    match: { protocols: [postgres] }
    when: '"search_path" in sql.settings || "role" in sql.settings || "session_authorization" in sql.settings'
    effect: deny
  - id: no-server-files
    match: { protocols: [postgres] }
    when: >-
      "copy_file" in sql.kinds ||
      sql.functions.exists(f, f in ["pg_read_file", "pg_read_binary_file", "lo_import", "lo_export"])
    effect: deny
  - id: agents-read-only
    match: { protocols: [postgres], principal_kind: [agent] }
    when: size(sql.writes) > 0
    effect: deny
    reason: "agents acting for {{principal.on_behalf_of.user}} may not write"
  - id: engineers-read
    description: Engineers may read anything the analyser understands
    match: { protocols: [postgres], groups: [engineers] }
    when: >-
      sql.kinds.all(k, k in ["select", "show", "explain", "transaction", "set",
      "prepare", "execute", "deallocate"])
    effect: allow
  - id: prod-writes-need-a-dba
    match: { protocols: [postgres], connections: { labels: { env: prod } }, groups: [engineers] }
    when: 'sql.kinds.exists(k, k in ["insert", "update", "delete"])'
    effect: approve
    approval: { reviewers: [dba], min_approvals: 1, ttl: 1h }
  - id: dba-all
    match: { protocols: [postgres], groups: [dba] }
    effect: allow
  - id: mask-customer-pii
    match: { protocols: [postgres], connections: { labels: { env: prod } } }
    when: '"customers" in sql.tables || "public.customers" in sql.tables'
    effect: mask
    mask: { columns: [customers.email, customers.phone], detectors: [email], strategy: redact }
  - id: mask-contact-email
    match: { protocols: [postgres] }
    when: '"contacts" in sql.tables'
    effect: mask
    mask: { columns: [contacts.email] }
`;

/**
 * A temp dir with sluice.yaml (loopback listeners on free ports, SQLite audit store), the
 * policy bundle and the target's password file. Returns the config file's path and the dir.
 */
export function writeGatewayConfig(target: {
  pgPort: number;
  database: string;
  user: string;
  password: string;
  /** Session recording (on by default, as in production). */
  recordings?: boolean;
}): { dir: string; configPath: string } {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-gw-"));
  mkdirSync(join(dir, "policies"));
  writeFileSync(join(dir, "policies", "bench.yaml"), BENCH_POLICY);
  writeFileSync(join(dir, "db-password"), `${target.password}\n`, { mode: 0o600 });
  const configPath = join(dir, "sluice.yaml");
  writeFileSync(
    configPath,
    `listeners: { http: 127.0.0.1:0, postgres: 127.0.0.1:0 }
store: sqlite:./data/sluice.db
signing_key: file:./data/signing-key.pem
policies: ./policies
tokens: { max_ttl: 12h }
recordings: { enabled: ${target.recordings ?? true} }
connections:
  - name: pg-prod
    protocol: postgres
    labels: { env: prod }
    target: { host: 127.0.0.1, port: ${target.pgPort}, database: ${target.database}, user: ${target.user}, password: file:./db-password }
  - name: pg-dev
    protocol: postgres
    labels: { env: dev }
    target: { host: 127.0.0.1, port: ${target.pgPort}, database: ${target.database}, user: ${target.user}, password: file:./db-password }
`,
  );
  return { dir, configPath };
}
