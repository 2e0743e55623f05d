/**
 * What the session recording keeps of each statement's result: column names, the first rows as
 * the client received them (masked), how many more there were, the command tag or error, and the
 * time from sending the statement to its last answer.
 */

import type { StatementResult } from "../../../core/index.ts";
import { type FieldDescription, JSONB, TEXT_TYPES } from "./row-codec.ts";
import type { StatementPlan } from "./statement-plan.ts";

export type ResultSink = (plan: StatementPlan, result: StatementResult) => void;

export class ResultLog {
  readonly #sink: ResultSink;
  readonly #maxRows: number;
  readonly #now: () => number;
  #plan: StatementPlan | undefined;
  #fields: readonly FieldDescription[] | undefined;
  #rows: (string | null)[][] = [];
  #rowCount = 0;
  #startedAt = 0;

  constructor(sink: ResultSink, maxRows: number, now: () => number = performance.now.bind(performance)) {
    this.#sink = sink;
    this.#maxRows = maxRows;
    this.#now = now;
  }

  /** A statement was sent (or the previous one of its query finished): its clock starts. */
  started(): void {
    this.#startedAt = this.#now();
  }

  /** Its columns (RowDescription, or the portal's Describe). */
  columns(plan: StatementPlan, fields: readonly FieldDescription[]): void {
    this.#plan = plan;
    this.#fields = fields;
  }

  /** Whether the next DataRow is still kept (rows over the cap are only counted). */
  get wantsRows(): boolean {
    return this.#fields !== undefined && this.#rows.length < this.#maxRows;
  }

  /** A row over the cap: only counted. */
  countRow(): void {
    this.#rowCount++;
  }

  /** One DataRow body as sent to the client. */
  row(body: Buffer): void {
    this.#rowCount++;
    const fields = this.#fields;
    if (fields === undefined || this.#rows.length >= this.#maxRows) return;
    const cells: (string | null)[] = [];
    let offset = 2;
    const count = body.readInt16BE(0);
    for (let i = 0; i < count && offset + 4 <= body.length; i++) {
      const length = body.readInt32BE(offset);
      offset += 4;
      if (length < 0) {
        cells.push(null);
        continue;
      }
      const field = fields[i];
      const binary = field?.format === 1;
      if (binary && !TEXT_TYPES.has(field.typeOid)) cells.push(`<binary, ${length} bytes>`);
      else
        cells.push(
          body.toString("utf8", offset + (binary && field.typeOid === JSONB ? 1 : 0), offset + length),
        );
      offset += length;
    }
    this.#rows.push(cells);
  }

  /** The statement's last answer: its command tag, or the error the client saw. */
  finish(
    plan: StatementPlan | undefined,
    end: { commandTag: string | null; error: { code: string; message: string } | null },
  ): void {
    const statementPlan = this.#plan ?? plan;
    const fields = this.#fields;
    const rows = this.#rows;
    const counted = this.#rowCount;
    this.#plan = undefined;
    this.#fields = undefined;
    this.#rows = [];
    this.#rowCount = 0;
    const durationMs = Math.round(Math.max(0, this.#now() - this.#startedAt) * 1000) / 1000;
    this.started();
    if (statementPlan === undefined) return;
    const total = Math.max(counted, rowsInTag(end.commandTag));
    this.#sink(statementPlan, {
      columns: fields === undefined ? null : fields.map((f) => f.name),
      rows,
      rowsOmitted: Math.max(0, total - rows.length),
      commandTag: end.commandTag,
      error: end.error,
      durationMs,
    });
  }
}

/** Rows a command tag reports (`SELECT 5`, `FETCH 5`, `COPY 5`); 0 for others. */
function rowsInTag(tag: string | null): number {
  const match = tag === null ? null : /^(?:SELECT|FETCH|COPY|MOVE) (\d+)$/.exec(tag);
  return match ? Number(match[1]) : 0;
}
