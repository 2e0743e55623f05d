/**
 * What the PostgreSQL analyser says about a statement. `SqlFacts` is what policy sees as `sql.*`,
 * so its keys are snake_case and every list is sorted and free of duplicates (stable audit
 * records, and equal texts give deep-equal facts).
 */
export type SqlFacts = {
  /** False when the parser rejected the text; then every list is empty and `dynamic` is true. */
  readonly parsed: boolean;
  /** The text is not fully understood statically (DO blocks, EXECUTE, SQL held in strings...). */
  readonly dynamic: boolean;
  /** Kinds of this statement and of every statement nested in it. */
  readonly kinds: readonly string[];
  readonly statement_kind: string;
  /** Relations as written: `public.users` when schema-qualified, else `users`. */
  readonly tables: readonly string[];
  readonly writes: readonly string[];
  /** Tables updated, deleted or truncated with no WHERE or a provably always-true one. */
  readonly unfiltered_writes: readonly string[];
  /** Lower-case function names without schema. */
  readonly functions: readonly string[];
  /** Column names referenced (last name component); `*` for stars and whole-row references. */
  readonly columns: readonly string[];
  /** Run-time settings the statement changes (`all` for RESET ALL). */
  readonly settings: readonly string[];
  /** The statement name for PREPARE / EXECUTE / DEALLOCATE (null for DEALLOCATE ALL). */
  readonly prepared_name: string | null;
  /** Number of statements in the whole input text. */
  readonly statements: number;
};

export interface StatementAnalysis {
  /** This statement's slice of the input, trimmed (the whole trimmed text for one statement). */
  readonly text: string;
  readonly facts: SqlFacts;
  /**
   * True when a fact depended on a literal's value (constant WHERE clauses, set_config names,
   * DO and function bodies, COPY paths...): such results must not be shared between texts that
   * differ only in literals.
   */
  readonly literalSensitive: boolean;
}

export interface SqlAnalysis {
  readonly parsed: boolean;
  readonly error?: string;
  readonly statements: readonly StatementAnalysis[];
}
