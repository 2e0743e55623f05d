import type { ColumnDescriptor } from "./columns.ts";
import { MaskCounter, type MaskCounts } from "./counts.ts";
import { MaskEngine, type MaskerOptions, type MaskRule } from "./engine.ts";
import { asMaskingError, guarded, MaskingError } from "./errors.ts";
import { maskJsonValue } from "./json.ts";
import { LineMasker } from "./lines.ts";
import { TableMasker } from "./table.ts";

export interface MaskedJson {
  readonly value: unknown;
  readonly counts: MaskCounts;
}

export interface MaskedText {
  readonly text: string;
  readonly counts: MaskCounts;
}

/**
 * Applies the mask rules of one decision to what the target returns, in any of three shapes:
 * tables (`forTable`, row by row), JSON documents (`maskJson`), and text (`maskText` for whole
 * messages, `textLines` for line streams). Pure: no I/O, no shared mutable state between results.
 *
 * Failure: every method either returns fully masked data or throws a `MaskingError`
 * (`SLUICE_MASKING_FAILED`); it never returns partly masked data. The caller must then end the
 * result with its protocol's native error and send nothing more of it.
 */
export class Masker {
  readonly #engine: MaskEngine;

  constructor(engine: MaskEngine) {
    this.#engine = engine;
  }

  /** Rule ids in order, as counts report them. */
  get ruleIds(): readonly string[] {
    return this.#engine.ruleIds;
  }

  /** Whether any rule has column patterns (results without column sources then rely on detectors). */
  get hasColumnRules(): boolean {
    return this.#engine.hasColumnRules;
  }

  /** Whether any detector runs. */
  get detecting(): boolean {
    return this.#engine.detecting;
  }

  /** A masker for one result set with these columns; column rules are resolved here, once. */
  forTable(columns: readonly ColumnDescriptor[]): TableMasker {
    return guarded("column resolution", () => new TableMasker(this.#engine, columns));
  }

  /** Masks a JSON value (as `JSON.parse` returns it) into a new one. */
  maskJson(value: unknown): MaskedJson {
    return guarded("JSON document", () => {
      const counter = new MaskCounter(this.#engine.ruleIds);
      const masked = maskJsonValue(this.#engine, value, counter);
      return { value: masked, counts: counter.snapshot() };
    });
  }

  /** Parses JSON text, masks it and writes it back (compact). */
  maskJsonText(text: string): MaskedText {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // The parser's message quotes the input: never pass it on.
      throw new MaskingError("the document is not valid JSON");
    }
    const masked = this.maskJson(value);
    return guarded("JSON document", () => ({ text: JSON.stringify(masked.value), counts: masked.counts }));
  }

  /**
   * Masks one whole text (an error message, a notice, a log line) with the detectors. Pass whole
   * units: a value split across two calls is not found.
   */
  maskText(text: string): MaskedText {
    return guarded("text", () => {
      const counter = new MaskCounter(this.#engine.ruleIds);
      const masked = this.#engine.detecting ? this.#engine.detect(text, counter, "text") : undefined;
      return { text: masked ?? text, counts: counter.snapshot() };
    });
  }

  /** A stream of newline-terminated text in arbitrary chunks, masked line by line with the detectors. */
  textLines(): LineMasker {
    const counter = new MaskCounter(this.#engine.ruleIds);
    const engine = this.#engine;
    return new LineMasker(
      (line) => (engine.detecting ? (engine.detect(line, counter, "text") ?? line) : line),
      () => counter.snapshot(),
      engine.maxLineLength,
    );
  }
}

/**
 * Compiles the mask rules of a decision (the policy's `masks`, in bundle order). Fails with a
 * `MaskingError` when a rule names an unknown detector, has an invalid column pattern or strategy,
 * or uses `hash` without a key of at least 16 bytes: a mask that cannot be applied fails closed.
 */
export function createMasker(rules: readonly MaskRule[], options: MaskerOptions = {}): Masker {
  try {
    return new Masker(new MaskEngine(rules, options));
  } catch (error) {
    throw asMaskingError("mask rules", error);
  }
}
