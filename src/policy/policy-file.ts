/**
 * Reading one policy file: YAML with positions, shape validation (zod) and diagnostics that point
 * at the offending key or value.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type Scalar } from "yaml";
import { z } from "zod";
import { parseDuration as parseCoreDuration } from "../core/index.ts";
import type { PolicyDiagnostic } from "./errors.ts";

export const API_VERSION = "sluice/v1";
export const RULE_ID_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
const DETECTOR_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

const nonEmptyString = z.string().min(1, "must not be empty");
const stringList = z.array(nonEmptyString).min(1, "must list at least one entry");

/** `1h30m` → 5400. Undefined when not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const seconds = parseCoreDuration(text);
  return seconds !== undefined && seconds > 0 ? seconds : undefined;
}

const MatchSchema = z.strictObject({
  protocols: z
    .array(z.string().regex(NAME_PATTERN, "protocol names are lower case, e.g. postgres"))
    .min(1)
    .optional(),
  connections: z.unknown().optional(),
  groups: stringList.optional(),
  users: stringList.optional(),
  principal_kind: z
    .array(z.enum(["human", "service", "agent"], { error: "must be one of human, service, agent" }))
    .min(1, "must list at least one entry")
    .optional(),
});

export const ConnectionListSchema = stringList;
export const ConnectionObjectSchema = z
  .strictObject({
    names: stringList.optional(),
    labels: z
      .record(z.string(), z.string({ error: "label values are strings (quote numbers and booleans)" }))
      .optional(),
  })
  .refine((c) => c.names !== undefined || (c.labels !== undefined && Object.keys(c.labels).length > 0), {
    message: "give names, labels or both",
  });

const ApprovalSchema = z.strictObject({
  reviewers: stringList,
  min_approvals: z.int("must be a whole number").min(1, "must be at least 1").default(1),
  ttl: z
    .string()
    .refine((t) => parseDuration(t) !== undefined, 'must be a duration like "1h", "30m" or "1h30m"')
    .default("1h"),
});

export const MASK_STRATEGIES = ["redact", "hash", "partial", "null"] as const;

const MaskSchema = z
  .strictObject({
    columns: z
      .array(z.string().regex(/^[A-Za-z0-9_*?]+(\.[A-Za-z0-9_*?]+)*$/, "columns look like table.column"))
      .optional(),
    detectors: z
      .array(z.string().regex(DETECTOR_PATTERN, "detector names are lower case, e.g. email or credit_card"))
      .optional(),
    strategy: z
      .enum(MASK_STRATEGIES, { error: `must be one of ${MASK_STRATEGIES.join(", ")}` })
      .default("redact"),
    deny_in_filters: z.boolean({ error: "must be true or false" }).optional(),
  })
  .refine((m) => (m.columns?.length ?? 0) + (m.detectors?.length ?? 0) > 0, {
    message: "a mask needs columns, detectors or both",
  });

export const RuleSchema = z.strictObject({
  id: z.string().regex(RULE_ID_PATTERN, "rule ids are lower case letters, digits and dashes"),
  description: z.string().optional(),
  mode: z.enum(["enforce", "shadow"], { error: "must be enforce or shadow" }).default("enforce"),
  match: MatchSchema.optional(),
  when: nonEmptyString.optional(),
  effect: z.enum(["allow", "deny", "approve", "mask"], {
    error: "must be one of allow, deny, approve, mask",
  }),
  approval: ApprovalSchema.optional(),
  mask: MaskSchema.optional(),
  reason: nonEmptyString.optional(),
});

export type RuleSpec = z.output<typeof RuleSchema>;

const FileSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
  rules: z.array(z.unknown()).nullable().optional(),
});

/** One rule entry with what the compiler needs to point back into the file. */
export interface ParsedRule {
  /** The rule as written (a mapping). Lints run on it even when the shape is invalid. */
  readonly raw: Readonly<Record<string, unknown>>;
  /** The validated rule; undefined when the shape is invalid (diagnostics already reported). */
  readonly spec?: RuleSpec;
  readonly ruleId?: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** File positions for offsets inside scalar values and for keys. */
  readonly locate: Locator;
}

export interface Locator {
  /** Position of the value at `path` (relative to the rule). */
  at(path: readonly (string | number)[]): { line: number; column: number };
  /** Position of the key of the last segment of `path` (for unknown fields). */
  atKey(path: readonly (string | number)[]): { line: number; column: number };
  /** Position of character `index` of the scalar string at `path`. */
  inScalar(path: readonly (string | number)[], index: number): { line: number; column: number };
}

export interface ParsedFile {
  readonly rules: readonly ParsedRule[];
  readonly diagnostics: readonly PolicyDiagnostic[];
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
  const where = issue.path.map(String).join(".");
  const prefix = where === "" ? "" : `${where}: `;
  if (issue.path.length > 0 && valueAt(root, issue.path) === undefined)
    return `missing required field ${where}`;
  if (issue.code === "invalid_type") return `${prefix}expected ${issue.expected}`;
  if (issue.code === "too_small" && issue.origin === "array") return `${prefix}must list at least one entry`;
  return `${prefix}${issue.message}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** The deepest YAML node along `path`, and the key node when the last segment is a map key. */
export function nodeAt(root: Node | null, path: readonly PropertyKey[]): { node: Node | null; key?: Node } {
  let node: Node | null = root;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === segment);
      if (pair === undefined) return { node };
      const value = pair.value as Node | null;
      if (value === null || value === undefined) return { node: pair.key as Node };
      node = value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as Node | undefined;
      if (item === undefined) return { node };
      node = item;
    } else {
      return { node };
    }
  }
  return { node };
}

export function keyNode(map: Node | null, key: string): Node | undefined {
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return pair?.key as Node | undefined;
}

/**
 * Source offset of character `index` of a scalar's value. Exact for plain, quoted and literal
 * block scalars; close for folded ones.
 */
export function scalarOffset(scalar: Scalar, source: string, index: number): number {
  const range = scalar.range;
  if (range === null || range === undefined) return 0;
  const [start, valueEnd] = range;
  switch (scalar.type) {
    case "BLOCK_LITERAL":
    case "BLOCK_FOLDED":
      return blockOffset(source, start, valueEnd, index);
    case "QUOTE_DOUBLE":
      return flowOffset(source, start + 1, valueEnd, index, "double");
    case "QUOTE_SINGLE":
      return flowOffset(source, start + 1, valueEnd, index, "single");
    default:
      return flowOffset(source, start, valueEnd, index, "plain");
  }
}

function flowOffset(source: string, start: number, end: number, index: number, style: string): number {
  let i = start;
  let k = 0;
  while (k < index && i < end) {
    const ch = source[i];
    if (ch === "\n" || ch === "\r") {
      // A line break folds into one character; the next line's indentation is dropped.
      i++;
      while (i < end && (source[i] === " " || source[i] === "\t" || source[i] === "\r" || source[i] === "\n"))
        i++;
      k++;
    } else if (style === "single" && ch === "'" && source[i + 1] === "'") {
      i += 2;
      k++;
    } else if (style === "double" && ch === "\\") {
      const next = source[i + 1];
      i += next === "x" ? 4 : next === "u" ? 6 : next === "U" ? 10 : 2;
      k++;
    } else {
      i++;
      k++;
    }
  }
  return i;
}

function blockOffset(source: string, start: number, end: number, index: number): number {
  const headerEnd = source.indexOf("\n", start);
  if (headerEnd < 0) return start;
  const lines: { offset: number; text: string }[] = [];
  let offset = headerEnd + 1;
  while (offset < end) {
    let lineEnd = source.indexOf("\n", offset);
    if (lineEnd < 0 || lineEnd > end) lineEnd = end;
    lines.push({ offset, text: source.slice(offset, lineEnd).replace(/\r$/, "") });
    offset = lineEnd + 1;
  }
  const indent = Math.min(
    ...lines.filter((l) => l.text.trim() !== "").map((l) => l.text.length - l.text.trimStart().length),
  );
  let k = 0;
  for (const line of lines) {
    const length = Math.max(0, line.text.length - indent);
    if (index <= k + length) return line.offset + indent + (index - k);
    k += length + 1;
  }
  return end;
}

/** A YAML document with helpers that turn offsets and nodes into 1-based line/column. */
export function parseYamlWithPositions(text: string) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const nodePos = (node: Node | null | undefined) => pos(node?.range?.[0] ?? 0);
  return { doc, pos, nodePos };
}

/** Parses one file. Never throws: every problem becomes a diagnostic. */
export function parsePolicyFile(file: string, text: string): ParsedFile {
  const { doc, pos, nodePos } = parseYamlWithPositions(text);
  const diagnostics: PolicyDiagnostic[] = [];

  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      diagnostics.push({ file, ...pos(error.pos[0]), message: `YAML: ${error.message.split("\n")[0]}` });
    }
    return { rules: [], diagnostics };
  }

  const root = doc.contents as Node | null;
  const data: unknown = doc.toJS();
  const fileResult = FileSchema.safeParse(data ?? undefined);
  if (!fileResult.success) {
    if (data === null || data === undefined || typeof data !== "object" || Array.isArray(data)) {
      diagnostics.push({
        file,
        ...nodePos(root),
        message: `a policy file is a mapping with apiVersion: ${API_VERSION} and rules`,
      });
      return { rules: [], diagnostics };
    }
    for (const issue of fileResult.error.issues) {
      for (const d of issueDiagnostics(root, issue, data, nodePos)) diagnostics.push({ file, ...d });
    }
  }

  const rulesValue = (data as { rules?: unknown }).rules;
  if (!Array.isArray(rulesValue)) return { rules: [], diagnostics };
  const rulesNode = nodeAt(root, ["rules"]).node;

  const rules: ParsedRule[] = [];
  rulesValue.forEach((raw, index) => {
    const ruleNode = isSeq(rulesNode) ? ((rulesNode.items[index] as Node | undefined) ?? null) : null;
    const ruleId =
      raw !== null && typeof raw === "object" && typeof (raw as { id?: unknown }).id === "string"
        ? (raw as { id: string }).id
        : undefined;
    const withRule = ruleId === undefined ? {} : { ruleId };
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      diagnostics.push({ file, ...nodePos(ruleNode), message: `rules[${index}] must be a mapping` });
      return;
    }
    const locate: Locator = {
      at: (path) => nodePos(nodeAt(ruleNode, path).node),
      atKey: (path) => {
        const parent = nodeAt(ruleNode, path.slice(0, -1)).node;
        const key = keyNode(parent, String(path[path.length - 1]));
        return nodePos(key ?? parent);
      },
      inScalar: (path, i) => {
        const { node } = nodeAt(ruleNode, path);
        return isScalar(node) ? pos(scalarOffset(node, text, i)) : nodePos(node);
      },
    };
    const base = { raw: raw as Record<string, unknown>, ...withRule, file, ...nodePos(ruleNode), locate };
    const result = RuleSchema.safeParse(raw);
    if (result.success) {
      rules.push({ ...base, spec: result.data });
      return;
    }
    for (const issue of result.error.issues) {
      for (const d of issueDiagnostics(ruleNode, issue, raw, nodePos))
        diagnostics.push({ file, ...withRule, ...d });
    }
    rules.push(base);
  });
  return { rules, diagnostics };
}

/** One diagnostic per issue (per key for unknown fields), positioned at the offending node. */
export function issueDiagnostics(
  base: Node | null,
  issue: z.core.$ZodIssue,
  data: unknown,
  nodePos: (node: Node | null | undefined) => { line: number; column: number },
): { line: number; column: number; message: string }[] {
  const { node } = nodeAt(base, issue.path);
  if (issue.code === "unrecognized_keys") {
    const where = issue.path.map(String).join(".");
    return issue.keys.map((key) => ({
      ...nodePos(keyNode(node, key) ?? node),
      message: `unknown field ${where === "" ? key : `${where}.${key}`}`,
    }));
  }
  return [{ ...nodePos(node), message: describeIssue(issue, data) }];
}
