import { globMatches, isGlob } from "../core/index.ts";
import { MaskingError } from "./errors.ts";

/** Where a result column's values come from, when it is a plain column of a table. */
export interface SourceColumn {
  /** Absent: `public`. */
  readonly schema?: string;
  readonly table: string;
  readonly column: string;
}

/** A result column as the protocol describes it. */
export interface ColumnDescriptor {
  /** The output name (an alias, or `?column?`); informational, never matched against rules. */
  readonly name: string;
  /**
   * The table column the values come from (PostgreSQL: RowDescription's table OID and attribute
   * number, resolved through the catalog). Absent for expressions, literals and function results:
   * such columns are masked only by detectors.
   */
  readonly source?: SourceColumn;
  /**
   * Whether the column's type can carry the redact token or a partial/hash token (text types).
   * Default true. When false, a masked value becomes null instead, so clients that parse the type
   * (an integer, a date, a UUID) do not fail.
   */
  readonly holdsText?: boolean;
  /**
   * Table columns an expression's values are computed from (`upper(email)`, `row_to_json(c)`, a
   * view column): a column rule matching any of them masks the whole value.
   */
  readonly derivedFrom?: readonly SourceColumn[];
  /**
   * Where the values come from could not be worked out: every column rule applies (fail closed),
   * with the strongest of their strategies.
   */
  readonly unresolved?: boolean;
}

export const DEFAULT_SCHEMA = "public";

/** One segment of a column pattern: a lower-cased exact name or glob. */
type Segment = { readonly glob: boolean; readonly text: string };

function segment(text: string): Segment {
  return { glob: isGlob(text), text };
}

function segmentMatches(s: Segment, name: string): boolean {
  return s.glob ? globMatches(s.text, name) : s.text === name;
}

const PATTERN = /^[a-z0-9_*?$]+(?:\.[a-z0-9_*?$]+){0,2}$/;

/**
 * A column pattern of a mask rule, as written in policy (`column`, `table.column`,
 * `schema.table.column`, each segment a name or glob), compared case-insensitively (PostgreSQL
 * folds unquoted identifiers to lower case, so `Customers.Email` and `customers.email` are the
 * same pattern; a quoted mixed-case identifier is masked too, erring on the side of hiding).
 *
 * - `column` matches that column of every table (like `*.column`);
 * - `table.column` matches that table in every schema;
 * - `schema.table.column` matches only there; a source without a schema is in `public`.
 */
export class ColumnPattern {
  readonly text: string;
  readonly #schema: Segment | undefined;
  readonly #table: Segment | undefined;
  readonly #column: Segment;

  constructor(text: string) {
    const lower = text.toLowerCase();
    if (!PATTERN.test(lower)) {
      throw new MaskingError(
        `invalid column pattern ${JSON.stringify(text)}: use column, table.column or schema.table.column`,
      );
    }
    this.text = text;
    const parts = lower.split(".").map(segment);
    this.#column = parts[parts.length - 1]!;
    this.#table = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    this.#schema = parts.length === 3 ? parts[0] : undefined;
  }

  /** The column segment, when it is a plain name (used to match JSON object keys). */
  get columnName(): string | undefined {
    return this.#column.glob ? undefined : this.#column.text;
  }

  /** Whether values of `source` are covered; names are compared lower-cased. */
  matches(source: SourceColumn): boolean {
    if (!segmentMatches(this.#column, source.column.toLowerCase())) return false;
    if (this.#table !== undefined && !segmentMatches(this.#table, source.table.toLowerCase())) return false;
    if (this.#schema !== undefined) {
      const schema = (source.schema ?? DEFAULT_SCHEMA).toLowerCase();
      if (!segmentMatches(this.#schema, schema)) return false;
    }
    return true;
  }
}
