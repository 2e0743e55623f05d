import type { SqlFacts, StatementAnalysis } from "./sql/index.ts";

/** A statement prepared on the server, by the protocol (Parse) or by SQL (PREPARE). */
export interface PreparedStatement {
  readonly text: string;
  readonly statements: readonly StatementAnalysis[];
}

/**
 * Per-session names the client can run later: protocol-level prepared statements and portals,
 * and SQL-level PREPARE names. Changes made by a batch are staged and committed only when the
 * batch is forwarded, so a refused batch leaves no trace.
 */
export class StatementRegistry {
  private readonly statements = new Map<string, PreparedStatement>();
  private readonly portals = new Map<string, string>();
  private readonly sqlPrepared = new Map<string, SqlFacts>();
  private staged: Array<() => void> = [];
  private readonly stagedStatements = new Map<string, PreparedStatement | null>();
  private readonly stagedPortals = new Map<string, string | null>();

  parse(name: string, statement: PreparedStatement): void {
    this.stagedStatements.set(name, statement);
    this.staged.push(() => this.statements.set(name, statement));
  }

  bind(portal: string, statementName: string): void {
    this.stagedPortals.set(portal, statementName);
    this.staged.push(() => this.portals.set(portal, statementName));
  }

  close(target: "statement" | "portal", name: string): void {
    if (target === "statement") {
      this.stagedStatements.set(name, null);
      this.staged.push(() => this.statements.delete(name));
    } else {
      this.stagedPortals.set(name, null);
      this.staged.push(() => this.portals.delete(name));
    }
  }

  /** The statement a portal runs, as this batch would leave it; undefined when unknown. */
  statementForPortal(portalName: string): PreparedStatement | undefined {
    const staged = this.stagedPortals.get(portalName);
    const statementName = staged === undefined ? this.portals.get(portalName) : staged;
    if (statementName === undefined || statementName === null) return undefined;
    const stagedStatement = this.stagedStatements.get(statementName);
    if (stagedStatement === null) return undefined;
    return stagedStatement ?? this.statements.get(statementName);
  }

  /** SQL-level PREPARE / DEALLOCATE, staged like the protocol-level ones. */
  prepareSql(name: string, facts: SqlFacts): void {
    this.staged.push(() => this.sqlPrepared.set(name, facts));
  }

  deallocateSql(name: string | null): void {
    this.staged.push(() => (name === null ? this.sqlPrepared.clear() : this.sqlPrepared.delete(name)));
  }

  sqlStatement(name: string): SqlFacts | undefined {
    return this.sqlPrepared.get(name);
  }

  commit(): void {
    for (const apply of this.staged) apply();
    this.discard();
  }

  discard(): void {
    this.staged = [];
    this.stagedStatements.clear();
    this.stagedPortals.clear();
  }
}
