/** What `npm start` prints once the demo gateway is up: copy-paste commands, loudly labelled. */
import { DEMO_CONNECTION } from "./demo-config.ts";
import type { DemoDatabase } from "./demo-database.ts";

export interface DemoInstructions {
  readonly configPath: string;
  /** The repository root relative to the current directory, when that is not `.`. */
  readonly changeDirectory: string | undefined;
  readonly gateway: { readonly host: string; readonly port: number };
  readonly http: { readonly host: string; readonly port: number };
  readonly tlsCertPath: string;
  readonly policiesPath: string;
  readonly policyVersion: string;
  readonly auditStore: string;
  readonly database: Pick<DemoDatabase, "description" | "host" | "port" | "notes">;
  readonly tokenHours: number;
  readonly aliceToken: string;
  readonly bobToken: string;
  /** The gateway's HTTP origin for `sluice login` through the demo's dev IdP, when it runs. */
  readonly loginGateway?: string;
}

/** Quotes a value for a POSIX shell when it needs it. */
function sh(value: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export function renderInstructions(d: DemoInstructions): string {
  const config = sh(d.configPath);
  const conninfo = (user: string) =>
    `"host=${d.gateway.host} port=${d.gateway.port} dbname=${DEMO_CONNECTION} user=${user} sslmode=require"`;
  const psql = (token: string, user: string, sql: string) =>
    `PGPASSWORD=$${token} psql ${conninfo(user)} -c "${sql}"`;
  const rule = "=".repeat(78);
  const lines = [
    "",
    rule,
    "  SLUICE DEMO GATEWAY -- NOT FOR PRODUCTION",
    "  Self-signed TLS certificate, a signing key on local disk, fake data, long-lived tokens.",
    rule,
    "",
    `Demo database : ${d.database.description}`,
    `                listening on ${d.database.host}:${d.database.port}`,
    ...d.database.notes.map((note) => `                ${note}`),
    `Gateway       : postgres ${d.gateway.host}:${d.gateway.port} (TLS required, self-signed certificate ${d.tlsCertPath})`,
    `                http     http://${d.http.host}:${d.http.port}/healthz`,
    `Connection    : ${DEMO_CONNECTION} (label env=prod) -> database app as role app`,
    `Policies      : ${d.policiesPath} (${d.policyVersion})`,
    `Configuration : ${d.configPath}`,
    `Audit trail   : ${d.auditStore}`,
    "",
    `Try it from another terminal${d.changeDirectory === undefined ? " in this directory" : `, after: cd ${sh(d.changeDirectory)}`}.`,
    "",
    `# Ready-made tokens, valid ${d.tokenHours}h: alice@corp.example (analysts), bob@corp.example (engineers)`,
    `export ALICE_TOKEN='${d.aliceToken}'`,
    `export BOB_TOKEN='${d.bobToken}'`,
    "",
    "# 1. alice, an analyst, reads customers: allowed",
    psql("ALICE_TOKEN", "alice", "SELECT id, name FROM customers"),
    "",
    "# 2. bob, an engineer, drops a table in production: denied by rule no-drop-in-prod",
    psql("BOB_TOKEN", "bob", "DROP TABLE orders"),
    "",
    "# 3. bob updates every row (no WHERE): held until a dba or the on-call engineer approves.",
    "#    psql waits with a NOTICE naming the request; approve it from a third terminal as dana (dba):",
    psql("BOB_TOKEN", "bob", "UPDATE orders SET status = 'shipped'"),
    `export DANA_TOKEN=$(npx sluice token issue -c ${config} --user dana@corp.example --groups dba)`,
    `SLUICE_TOKEN=$DANA_TOKEN npx sluice approvals --gateway http://${d.http.host}:${d.http.port}`,
    `SLUICE_TOKEN=$DANA_TOKEN npx sluice approve <request-id> --gateway http://${d.http.host}:${d.http.port}`,
    "#    One row is allowed at once:",
    psql("BOB_TOKEN", "bob", "UPDATE orders SET status = 'shipped' WHERE id = 104"),
    "",
    "# 4. alice tries to write: denied, analysts are read-only",
    psql("ALICE_TOKEN", "alice", "DELETE FROM orders WHERE id = 108"),
    "",
    ...(d.loginGateway === undefined
      ? []
      : [
          "# Or log in like a person would, through the built-in dev IdP (NOT FOR PRODUCTION):",
          "# sign in as alice / demo (-> analysts) or bob / demo (-> engineers, oncall)",
          `npx sluice login --gateway ${d.loginGateway}`,
          "npx sluice whoami",
          `PGPASSWORD=$(npx sluice token get) psql ${conninfo("alice")} -c "SELECT id, name FROM customers"`,
          "",
        ]),
    "# Break-glass: mint a token with the signing key (groups in the example policies: analysts, engineers, oncall):",
    `PGPASSWORD=$(npx sluice token issue -c ${config} --user alice@corp.example --groups analysts) psql ${conninfo("alice")} -c "SELECT id, name FROM customers"`,
    "",
    "# The audit trail: every session and every decision, with its rule and reason",
    `npx sluice audit search -c ${config}`,
    `npx sluice audit search -c ${config} --decision deny`,
    "# ... and its hash chain: proves that no event was edited, deleted or reordered",
    `npx sluice audit verify -c ${config}`,
    "",
    "Ctrl-C stops the gateway and the demo database.",
    "",
  ];
  return `${lines.join("\n")}\n`;
}
