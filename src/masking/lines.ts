import type { MaskCounts } from "./counts.ts";
import { asMaskingError, MaskingError } from "./errors.ts";

/**
 * Masks a stream of newline-terminated lines that arrives in arbitrary chunks (COPY data, logs):
 * complete lines are masked and returned at once; only the unfinished last line is held back,
 * and it may not grow beyond `maxLineLength` (bounded memory; a longer line fails the stream,
 * because masking part of a line could miss a value split across the cut).
 */
export class LineMasker {
  readonly #maskLine: (line: string) => string;
  readonly #counts: () => MaskCounts;
  readonly #maxLineLength: number;
  #pending = "";
  #failed = false;

  constructor(maskLine: (line: string) => string, counts: () => MaskCounts, maxLineLength: number) {
    this.#maskLine = maskLine;
    this.#counts = counts;
    this.#maxLineLength = maxLineLength;
  }

  /** Masks the complete lines now available (each keeps its `\n`); holds back the rest. */
  push(chunk: string): string {
    return this.#guard(() => {
      const text = this.#pending + chunk;
      const last = text.lastIndexOf("\n");
      if (last === -1) {
        this.#hold(text);
        return "";
      }
      this.#hold(text.slice(last + 1));
      let out = "";
      let start = 0;
      while (start <= last) {
        const end = text.indexOf("\n", start);
        out += `${this.#maskLine(text.slice(start, end))}\n`;
        start = end + 1;
      }
      return out;
    });
  }

  /** Masks and returns what is held back (a last line without a newline), ending the stream. */
  end(): string {
    return this.#guard(() => {
      const rest = this.#pending;
      this.#pending = "";
      return rest === "" ? "" : this.#maskLine(rest);
    });
  }

  counts(): MaskCounts {
    return this.#counts();
  }

  #hold(text: string): void {
    if (text.length > this.#maxLineLength) {
      throw new MaskingError(`a line is longer than ${this.#maxLineLength} characters`);
    }
    this.#pending = text;
  }

  #guard(fn: () => string): string {
    if (this.#failed) throw new MaskingError("the stream already failed");
    try {
      return fn();
    } catch (error) {
      this.#failed = true;
      this.#pending = "";
      throw asMaskingError("line stream", error);
    }
  }
}
