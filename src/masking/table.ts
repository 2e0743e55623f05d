import type { ColumnDescriptor } from "./columns.ts";
import { type CopyTextFormat, escapeCopyText, parseCopyTextLine } from "./copy-text.ts";
import { MaskCounter, type MaskCounts } from "./counts.ts";
import type { ColumnMask, MaskEngine } from "./engine.ts";
import { asMaskingError, MaskingError } from "./errors.ts";
import { LineMasker } from "./lines.ts";

/** One row after masking. `cells` is the input array itself when nothing changed. */
export interface MaskedRow {
  readonly cells: readonly (string | null)[];
  /** Cells masked in this row. */
  readonly masked: number;
}

/**
 * Masks one result set (a query's rows, or a COPY TO), row by row: no row is held, so memory does
 * not grow with the result. Column rules are resolved once, from the column descriptors; cells of
 * masked columns get their rule's strategy, every other non-null cell goes through the detectors.
 * NULL cells stay NULL. After any failure every further call fails too: the caller must end the
 * result with its protocol's error and send nothing more of it.
 */
export class TableMasker {
  /** Per column, the mask from column rules (undefined: detectors only). */
  readonly columnMasks: readonly (ColumnMask | undefined)[];
  /** False when no cell can change (no column matched and no detector runs): rows pass untouched. */
  readonly active: boolean;
  readonly #engine: MaskEngine;
  readonly #holdsText: readonly boolean[];
  readonly #counter: MaskCounter;
  #failed = false;

  constructor(engine: MaskEngine, columns: readonly ColumnDescriptor[]) {
    this.#engine = engine;
    this.columnMasks = columns.map((c) => engine.columnMask(c));
    this.#holdsText = columns.map((c) => c.holdsText ?? true);
    this.#counter = new MaskCounter(engine.ruleIds);
    this.active = engine.detecting || this.columnMasks.some((m) => m !== undefined);
  }

  /** Masks one row of text-format cells (null = SQL NULL). */
  maskRow(cells: readonly (string | null)[]): MaskedRow {
    // The hot path: try/catch inline rather than through #guard's closure.
    if (this.#failed) throw new MaskingError("this result already failed");
    try {
      this.#checkWidth(cells.length);
      if (!this.active) return { cells, masked: 0 };
      let out: (string | null)[] | undefined;
      let masked = 0;
      for (let i = 0; i < cells.length; i++) {
        const cell = cells[i];
        if (cell === null || cell === undefined) continue;
        const next = this.#maskCell(i, cell);
        if (next === undefined) continue;
        out ??= cells.slice();
        out[i] = next;
        masked++;
      }
      return { cells: out ?? cells, masked };
    } catch (error) {
      this.#failed = true;
      throw asMaskingError("table result", error);
    }
  }

  /**
   * Masks one line of COPY text format (with or without its `\n` / `\r\n` ending): fields are split
   * and unescaped, masked like cells, and masked fields are escaped again; untouched fields keep
   * their exact bytes. The end-of-data marker `\.` passes unchanged.
   */
  maskCopyTextLine(line: string, format: CopyTextFormat = {}): string {
    return this.#guard(() => {
      const ending = line.endsWith("\r\n") ? "\r\n" : line.endsWith("\n") ? "\n" : "";
      const body = line.slice(0, line.length - ending.length);
      if (body === "\\." || !this.active) return line;
      const delimiter = format.delimiter ?? "\t";
      const fields = parseCopyTextLine(body, format);
      this.#checkWidth(fields.length);
      let changed = false;
      const out = fields.map((field, i) => {
        if (field.value === null) return field.raw;
        const next = this.#maskCell(i, field.value);
        if (next === undefined) return field.raw;
        changed = true;
        return next === null ? (format.null ?? "\\N") : escapeCopyText(next, delimiter);
      });
      return changed ? out.join(delimiter) + ending : line;
    });
  }

  /** COPY text data arriving in arbitrary chunks: complete lines are masked as they arrive. */
  copyLines(format: CopyTextFormat = {}): LineMasker {
    return new LineMasker(
      (line) => this.maskCopyTextLine(line, format),
      () => this.counts(),
      this.#engine.maxLineLength,
    );
  }

  /**
   * Masks one cell given as text (null = SQL NULL); for protocols that rewrite a row's cells in
   * place. Returns undefined when the cell stays as it is, else its new value (null = NULL).
   */
  maskCell(i: number, cell: string | null): string | null | undefined {
    // The hot path of row rewriting: try/catch inline rather than through #guard's closure.
    if (this.#failed) throw new MaskingError("this result already failed");
    try {
      if (i < 0 || i >= this.columnMasks.length) throw new MaskingError(`no column ${i} in this result`);
      return cell === null || !this.active ? undefined : this.#maskCell(i, cell);
    } catch (error) {
      this.#failed = true;
      throw asMaskingError("table result", error);
    }
  }

  /**
   * For a non-null cell of a column whose replacement does not depend on the value (a column rule
   * with `redact` or `null`, or any column rule on a type that cannot hold text): counts it and
   * returns the replacement, so the caller need not decode the value. Undefined otherwise.
   */
  fixedMask(i: number): string | null | undefined {
    const mask = this.columnMasks[i];
    if (mask === undefined || this.#failed) return undefined;
    const holdsText = this.#holdsText[i]!;
    if (holdsText && mask.strategy !== "redact" && mask.strategy !== "null") return undefined;
    return this.#engine.maskWhole(mask, "", holdsText, this.#counter);
  }

  /**
   * A non-null cell whose value cannot be read (a binary-format value of a non-text type): a
   * column rule makes it NULL (counted); detectors cannot look inside it. Returns whether it must
   * become NULL.
   */
  maskUnreadableCell(i: number): boolean {
    return this.#guard(() => {
      const mask = this.columnMasks[i];
      if (mask === undefined) return false;
      this.#engine.maskWhole(mask, "", false, this.#counter);
      return true;
    });
  }

  /** Whether a cell of column `i` can change: a column rule covers it or detectors run. */
  watches(i: number): boolean {
    return this.columnMasks[i] !== undefined || this.#engine.detecting;
  }

  /** What this result had masked so far, per rule. */
  counts(): MaskCounts {
    return this.#counter.snapshot();
  }

  #maskCell(i: number, cell: string): string | null | undefined {
    const holdsText = this.#holdsText[i]!;
    const mask = this.columnMasks[i];
    if (mask !== undefined) return this.#engine.maskWhole(mask, cell, holdsText, this.#counter);
    if (!this.#engine.detecting) return undefined;
    return this.#engine.detect(cell, this.#counter, holdsText ? "nullable" : "opaque");
  }

  #checkWidth(width: number): void {
    if (width !== this.columnMasks.length) {
      throw new MaskingError(`a row has ${width} values, the result has ${this.columnMasks.length} columns`);
    }
  }

  #guard<T>(fn: () => T): T {
    if (this.#failed) throw new MaskingError("this result already failed");
    try {
      return fn();
    } catch (error) {
      this.#failed = true;
      throw asMaskingError("table result", error);
    }
  }
}
