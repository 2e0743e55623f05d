import type { MaskCounter } from "./counts.ts";
import type { ColumnMask, MaskEngine } from "./engine.ts";
import { MaskingError } from "./errors.ts";

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A key no other key of the object has taken (masking can make two keys equal). */
function distinctKey(key: string, taken: Set<string>): string {
  if (!taken.has(key)) return key;
  let n = 2;
  while (taken.has(`${key}#${n}`)) n++;
  return `${key}#${n}`;
}

/**
 * Masks a JSON value (as `JSON.parse` returns it) into a new value; the input is not modified.
 *
 * - An object key that names a column of a column rule (the last segment of `customers.email`,
 *   `*.email` or `email`, compared case-insensitively; glob segments like `customers.*` do not
 *   name keys) masks everything under it with that rule's strategy: strings, numbers and
 *   booleans become the strategy's text (or null), nested arrays and objects are masked leaf by
 *   leaf. JSON has no tables, so the table part of the pattern is ignored here.
 * - Every other string goes through the detectors, and so does every key (keys that become equal
 *   get `#2`, `#3` appended); numbers are scanned in their JavaScript text form, and an integer
 *   of up to 19 digits too large to be exact is masked whole when `credit_card` runs (its digits
 *   can no longer be checked).
 * - null stays null. Nesting deeper than `maxJsonDepth`, and values JSON cannot hold (undefined,
 *   functions, bigints, class instances), fail.
 */
export function maskJsonValue(engine: MaskEngine, value: unknown, counter: MaskCounter): unknown {
  const walk = (node: unknown, depth: number, mask: ColumnMask | undefined): unknown => {
    if (depth > engine.maxJsonDepth) {
      throw new MaskingError(`the JSON document is nested deeper than ${engine.maxJsonDepth} levels`);
    }
    switch (typeof node) {
      case "string":
        if (mask !== undefined) return engine.maskWhole(mask, node, true, counter);
        return engine.detecting ? (engine.detect(node, counter, "nullable") ?? node) : node;
      case "number":
        return maskNumber(node, mask);
      case "boolean":
        return mask === undefined ? node : engine.maskWhole(mask, String(node), true, counter);
      case "object": {
        if (node === null) return null;
        if (Array.isArray(node)) return node.map((item) => walk(item, depth + 1, mask));
        if (!isPlainObject(node)) throw new MaskingError("the value is not JSON (an object with a class)");
        const taken = new Set<string>();
        const entries: [string, unknown][] = [];
        for (const [key, child] of Object.entries(node)) {
          const masked = engine.detecting ? engine.detect(key, counter, "text") : undefined;
          const name = distinctKey(masked ?? key, taken);
          taken.add(name);
          entries.push([name, walk(child, depth + 1, mask ?? engine.keyMask(key))]);
        }
        return Object.fromEntries(entries);
      }
      default:
        throw new MaskingError(`the value is not JSON (a ${typeof node})`);
    }
  };

  const maskNumber = (node: number, mask: ColumnMask | undefined): unknown => {
    if (!Number.isFinite(node)) throw new MaskingError("the value is not JSON (a non-finite number)");
    if (mask !== undefined) return engine.maskWhole(mask, String(node), true, counter);
    if (!engine.detecting) return node;
    const card = engine.cardNumberMask;
    if (
      card !== undefined &&
      !Number.isSafeInteger(node) &&
      Number.isInteger(node) &&
      Math.abs(node) < 1e19
    ) {
      return engine.maskWhole(card, String(node), true, counter);
    }
    return engine.detect(String(node), counter, "nullable") ?? node;
  };

  return walk(value, 0, undefined);
}
