import type { z } from "zod";

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: "a map",
  record: "a map",
  array: "a list",
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
};

/** Describes what the file holds, never its value (the value may be a secret). */
export function describeInput(input: unknown): string {
  if (input === null) return "an empty value";
  if (Array.isArray(input)) return "a list";
  if (input instanceof Date) return "a date";
  switch (typeof input) {
    case "object":
      return "a map";
    case "string":
      return "a string";
    case "number":
    case "bigint":
      return "a number";
    case "boolean":
      return "true or false";
    default:
      return typeof input;
  }
}

/**
 * The per-parse zod error map: short lowercase messages that name the expected shape and what
 * was found, without echoing values. Schema-level messages take precedence over these.
 */
export const describeIssue: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "missing required key";
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeInput(issue.input)}`;
    case "invalid_value":
      return issue.values.length === 1
        ? `expected ${String(issue.values[0])}`
        : `expected one of ${issue.values.map(String).join(", ")}`;
    case "too_small":
      return `expected ${issue.inclusive === false ? "more than" : "at least"} ${String(issue.minimum)}${unitOf(issue.origin, issue.minimum)}`;
    case "too_big":
      return `expected ${issue.inclusive === false ? "less than" : "at most"} ${String(issue.maximum)}${unitOf(issue.origin, issue.maximum)}`;
    case "invalid_key":
      return issue.issues[0]?.message ?? "invalid key";
    case "invalid_union":
      return "does not match any allowed form";
    default:
      return undefined;
  }
};

function unitOf(origin: string, amount: number | bigint): string {
  const plural = amount === 1 || amount === 1n ? "" : "s";
  if (origin === "string") return ` character${plural}`;
  if (origin === "array") return ` item${plural}`;
  return "";
}
