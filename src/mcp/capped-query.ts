/**
 * One simple-protocol query for `pg`'s client that keeps at most a bounded part of its results:
 * rows arrive as PostgreSQL text (no type parsing), beyond the caps they are counted and dropped,
 * so memory does not grow with the result.
 */

export interface ResultCaps {
  /** Rows kept per statement result. */
  readonly maxRows: number;
  /** Characters of cell text kept across all results. */
  readonly maxChars: number;
}

export interface StatementResult {
  command: string | null;
  columns: { name: string; type_oid: number }[];
  rows: (string | null)[][];
  row_count: number;
  truncated: boolean;
}

/** An ErrorResponse from the gateway (a denial) or from the target, with its fields. */
export interface ServerError {
  readonly message: string;
  readonly code?: string;
  readonly detail?: string;
  readonly hint?: string;
}

interface PgConnection {
  query(text: string): void;
  sendCopyFail(message: string): void;
}

interface RowDescription {
  fields: { name: string; dataTypeID: number }[];
}

/** What `pg` hands a submittable; the names are pg's. */
export class CappedQuery {
  readonly results: StatementResult[] = [];
  readonly done: Promise<StatementResult[]>;
  #current: StatementResult | undefined;
  #chars = 0;
  #resolve!: (results: StatementResult[]) => void;
  #reject!: (error: unknown) => void;

  constructor(
    private readonly text: string,
    private readonly caps: ResultCaps,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }

  handleRowDescription(message: RowDescription): void {
    this.#current = {
      command: null,
      columns: message.fields.map((f) => ({ name: f.name, type_oid: f.dataTypeID })),
      rows: [],
      row_count: 0,
      truncated: false,
    };
    this.results.push(this.#current);
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    const current = this.#current;
    if (current === undefined) return;
    current.row_count++;
    if (current.truncated) return;
    let chars = 0;
    for (const cell of message.fields) chars += cell === null ? 4 : cell.length + 2;
    if (current.rows.length >= this.caps.maxRows || this.#chars + chars > this.caps.maxChars) {
      current.truncated = true;
      return;
    }
    this.#chars += chars;
    current.rows.push(message.fields);
  }

  handleCommandComplete(message: { text?: string }): void {
    const current = this.#current ?? this.#statement();
    current.command = message.text ?? null;
    this.#current = undefined;
  }

  handleEmptyQuery(): void {
    this.#current = undefined;
  }

  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail("COPY FROM STDIN is not available through the MCP query tool");
  }

  handleCopyData(message: { chunk: Buffer }): void {
    this.#current ??= this.#copyResult();
    this.handleDataRow({ fields: [message.chunk.toString("utf8").replace(/\n$/, "")] });
  }

  handlePortalSuspended(): void {}

  /** An ErrorResponse (or a dead socket) ends the query: `pg` detaches it before ReadyForQuery. */
  handleError(error: unknown): void {
    const e = error as Partial<ServerError> & { message?: string };
    this.#reject(
      new QueryFailed(
        {
          message: e.message ?? String(error),
          ...(typeof e.code === "string" ? { code: e.code } : {}),
          ...(typeof e.detail === "string" ? { detail: e.detail } : {}),
          ...(typeof e.hint === "string" ? { hint: e.hint } : {}),
        },
        this.results,
      ),
    );
  }

  handleReadyForQuery(): void {
    this.#resolve(this.results);
  }

  /** A result for a statement without rows (`INSERT 0 1`). */
  #statement(): StatementResult {
    const result: StatementResult = { command: null, columns: [], rows: [], row_count: 0, truncated: false };
    this.results.push(result);
    return result;
  }

  #copyResult(): StatementResult {
    const result = this.#statement();
    result.columns.push({ name: "copy", type_oid: 25 });
    return result;
  }
}

/** The query ended with an ErrorResponse; `results` holds what completed before it. */
export class QueryFailed extends Error {
  constructor(
    readonly server: ServerError,
    readonly results: readonly StatementResult[],
  ) {
    super(server.message);
    this.name = "QueryFailed";
  }
}
