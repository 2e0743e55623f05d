import { type ColumnDescriptor, ColumnPattern } from "./columns.ts";
import type { MaskCounter } from "./counts.ts";
import { type Detector, type DetectorRegistry, defaultDetectors, type Span } from "./detectors/index.ts";
import { MaskingError } from "./errors.ts";
import {
  createHasher,
  DEFAULT_REDACT_TOKEN,
  type HashOptions,
  MASK_STRATEGIES,
  type MaskStrategy,
  type PartialOptions,
  partial,
  strongest,
} from "./strategies.ts";

/** One mask rule of a decision. Structurally the policy's `MaskRequirement`. */
export interface MaskRule {
  readonly ruleId: string;
  /** Column patterns: `column`, `table.column`, `schema.table.column`, segments may be globs. */
  readonly columns: readonly string[];
  /** Detector names, looked up in the masker's registry. */
  readonly detectors: readonly string[];
  readonly strategy: MaskStrategy;
}

export interface MaskerOptions {
  /** Where detector names are looked up (default: the built-ins plus `registerDetector`). */
  readonly detectors?: DetectorRegistry;
  /** The gateway's key for `hash` (at least 16 bytes); required when a rule uses `hash`. */
  readonly hashKey?: string | Uint8Array;
  readonly hash?: HashOptions;
  /** The `redact` token (default `[MASKED]`). */
  readonly redactToken?: string;
  readonly partial?: PartialOptions;
  /** Deepest JSON nesting masked; deeper documents fail (default 64). */
  readonly maxJsonDepth?: number;
  /** Longest line a line-oriented stream may hold back while waiting for its end (default 1 MiB). */
  readonly maxLineLength?: number;
}

/** What masks one column: the winning strategy and every rule that asked for it. */
export interface ColumnMask {
  readonly strategy: MaskStrategy;
  readonly ruleIds: readonly string[];
  /** Indexes into the masker's rules, for counting. */
  readonly ruleIndexes: readonly number[];
}

/**
 * How a detected span is replaced, by the kind of value it is found in:
 * - `text`: a message or line that cannot become null; `null` strategy spans get the redact token;
 * - `nullable`: a text cell or JSON string; a `null` strategy span makes the whole value null;
 * - `opaque`: a value of a type that cannot hold text; any detection makes it null.
 */
export type DetectionTarget = "text" | "nullable" | "opaque";

interface DetectorPlan {
  readonly detector: Detector;
  readonly strategy: MaskStrategy;
  readonly ruleIndexes: readonly number[];
}

interface Found {
  readonly start: number;
  readonly end: number;
  readonly plan: DetectorPlan;
}

/** Runs one detector; its exceptions become MaskingErrors that name it, never the text. */
function runDetector(detector: Detector, text: string): readonly Span[] {
  let spans: readonly Span[];
  try {
    spans = detector.find(text);
  } catch (error) {
    throw new MaskingError(
      `detector ${detector.name} failed (${error instanceof Error ? error.name : typeof error})`,
    );
  }
  if (!Array.isArray(spans)) throw new MaskingError(`detector ${detector.name} returned no span list`);
  return spans;
}

const byPosition = (a: Found, b: Found): number => a.start - b.start || b.end - a.end;

/** The compiled rules: column resolution, detection and the strategies. Shared by every result. */
export class MaskEngine {
  readonly ruleIds: readonly string[];
  readonly maxJsonDepth: number;
  readonly maxLineLength: number;
  /** Whether any detector runs (so cells without a column mask may change). */
  readonly detecting: boolean;
  /** Whether any rule has column patterns. */
  readonly hasColumnRules: boolean;
  /** The credit_card detector's strategy and rules, when it runs (for JSON numbers too large to check). */
  readonly cardNumberMask: ColumnMask | undefined;
  readonly #patterns: readonly { readonly pattern: ColumnPattern; readonly rule: number }[];
  readonly #plans: readonly DetectorPlan[];
  readonly #keyMasks: ReadonlyMap<string, ColumnMask>;
  readonly #rules: readonly MaskRule[];
  readonly #token: string;
  readonly #partial: PartialOptions;
  readonly #hash: ((value: string) => string) | undefined;
  /** Per-value scratch: which rules masked something in the value being scanned. */
  readonly #flags: Uint8Array;

  constructor(rules: readonly MaskRule[], options: MaskerOptions = {}) {
    const registry = options.detectors ?? defaultDetectors;
    this.#rules = rules;
    this.ruleIds = rules.map((r) => r.ruleId);
    this.#token = options.redactToken ?? DEFAULT_REDACT_TOKEN;
    this.#partial = options.partial ?? {};
    this.maxJsonDepth = options.maxJsonDepth ?? 64;
    this.maxLineLength = options.maxLineLength ?? 1 << 20;
    this.#flags = new Uint8Array(rules.length);

    const patterns: { pattern: ColumnPattern; rule: number }[] = [];
    const plans = new Map<string, { detector: Detector; strategy: MaskStrategy; ruleIndexes: number[] }>();
    rules.forEach((rule, index) => {
      if (!MASK_STRATEGIES.includes(rule.strategy)) {
        throw new MaskingError(`rule ${rule.ruleId}: unknown strategy ${JSON.stringify(rule.strategy)}`);
      }
      for (const column of rule.columns) patterns.push({ pattern: new ColumnPattern(column), rule: index });
      for (const name of rule.detectors) {
        const detector = registry.get(name);
        if (detector === undefined) throw new MaskingError(`rule ${rule.ruleId}: unknown detector ${name}`);
        const plan = plans.get(name);
        if (plan === undefined) plans.set(name, { detector, strategy: rule.strategy, ruleIndexes: [index] });
        else if (!plan.ruleIndexes.includes(index)) {
          plan.strategy = strongest(plan.strategy, rule.strategy);
          plan.ruleIndexes.push(index);
        }
      }
    });
    this.#patterns = patterns;
    this.#plans = [...plans.values()];
    this.detecting = this.#plans.length > 0;
    this.hasColumnRules = patterns.length > 0;
    const card = plans.get("credit_card");
    this.cardNumberMask =
      card === undefined
        ? undefined
        : {
            strategy: card.strategy,
            ruleIds: card.ruleIndexes.map((r) => this.ruleIds[r]!),
            ruleIndexes: card.ruleIndexes,
          };

    if (rules.some((r) => r.strategy === "hash")) {
      if (options.hashKey === undefined)
        throw new MaskingError("the hash strategy needs the gateway's hash key");
      try {
        this.#hash = createHasher(options.hashKey, options.hash);
      } catch (error) {
        throw new MaskingError(
          `invalid hash settings: ${error instanceof Error ? error.message : "unknown"}`,
        );
      }
    }

    // JSON keys: the plain column names of the patterns.
    const keyRules = new Map<string, number[]>();
    for (const { pattern, rule } of patterns) {
      const name = pattern.columnName;
      if (name === undefined) continue;
      const list = keyRules.get(name) ?? [];
      if (!list.includes(rule)) list.push(rule);
      keyRules.set(name, list);
    }
    this.#keyMasks = new Map([...keyRules].map(([name, indexes]) => [name, this.#maskOf(indexes)]));
  }

  #maskOf(ruleIndexes: readonly number[]): ColumnMask {
    const sorted = [...ruleIndexes].sort((a, b) => a - b);
    let strategy: MaskStrategy = this.#rules[sorted[0]!]!.strategy;
    for (const r of sorted) strategy = strongest(strategy, this.#rules[r]!.strategy);
    return { strategy, ruleIds: sorted.map((r) => this.ruleIds[r]!), ruleIndexes: sorted };
  }

  /** The column mask for a result column, or undefined when no column rule covers it. */
  columnMask(column: ColumnDescriptor): ColumnMask | undefined {
    const matched: number[] = [];
    for (const { pattern, rule } of this.#patterns) {
      if (matched.includes(rule)) continue;
      if (
        column.unresolved === true ||
        (column.source !== undefined && pattern.matches(column.source)) ||
        column.derivedFrom?.some((s) => pattern.matches(s)) === true
      ) {
        matched.push(rule);
      }
    }
    return matched.length === 0 ? undefined : this.#maskOf(matched);
  }

  /** The column mask for a JSON object key: rules listing a column of that name (any table). */
  keyMask(key: string): ColumnMask | undefined {
    return this.#keyMasks.size === 0 ? undefined : this.#keyMasks.get(key.toLowerCase());
  }

  /** A strategy applied to a whole value. */
  replace(strategy: MaskStrategy, value: string, holdsText: boolean): string | null {
    if (!holdsText) return null;
    switch (strategy) {
      case "redact":
        return this.#token;
      case "partial":
        return partial(value, this.#partial);
      case "hash":
        return this.#hash!(value);
      case "null":
        return null;
    }
  }

  /** A column mask applied to one non-null value; counts it. */
  maskWhole(mask: ColumnMask, value: string, holdsText: boolean, counter: MaskCounter): string | null {
    const masked = this.replace(mask.strategy, value, holdsText);
    counter.add(mask.ruleIndexes);
    return masked;
  }

  /**
   * Runs every detector over `text` and replaces what they find (overlapping finds merge; the
   * strongest strategy among them wins). Returns undefined when nothing was found, else the
   * masked text, or null when the value must become null (see `DetectionTarget`).
   */
  detect(text: string, counter: MaskCounter, target: DetectionTarget): string | null | undefined {
    let found: Found[] | undefined;
    const plans = this.#plans;
    for (let p = 0; p < plans.length; p++) {
      const plan = plans[p]!;
      const spans = runDetector(plan.detector, text);
      for (let k = 0; k < spans.length; k++) {
        const span = spans[k];
        const start = span?.start;
        const end = span?.end;
        if (
          start === undefined ||
          end === undefined ||
          !Number.isInteger(start) ||
          !Number.isInteger(end) ||
          start < 0 ||
          end <= start ||
          end > text.length
        ) {
          throw new MaskingError(`detector ${plan.detector.name} returned an invalid span`);
        }
        found ??= [];
        found.push({ start, end, plan });
      }
    }
    if (found === undefined) return undefined;
    found.sort(byPosition);

    const flags = this.#flags;
    let nulled = false;
    let out = "";
    let position = 0;
    let i = 0;
    while (i < found.length) {
      const first = found[i]!;
      let end = first.end;
      let strategy = first.plan.strategy;
      for (const r of first.plan.ruleIndexes) flags[r] = 1;
      for (i++; i < found.length && found[i]!.start < end; i++) {
        const next = found[i]!;
        if (next.end > end) end = next.end;
        strategy = strongest(strategy, next.plan.strategy);
        for (const r of next.plan.ruleIndexes) flags[r] = 1;
      }
      if (target === "opaque" || (strategy === "null" && target === "nullable")) nulled = true;
      if (nulled) continue;
      const span = text.slice(first.start, end);
      out += text.slice(position, first.start);
      out += strategy === "null" ? this.#token : (this.replace(strategy, span, true) as string);
      position = end;
    }
    counter.addFlagged(flags);
    if (nulled) return null;
    return out + text.slice(position);
  }
}
