import { globMatches } from "../core/index.ts";

/** An IdP group matching `from` (a glob: `*` any run, `?` one character) becomes the Sluice group `to`. */
export interface GroupRule {
  readonly from: string;
  readonly to: string;
}

/** Most groups taken from one set of claims; more are ignored (and never grow a token without bound). */
const MAX_GROUPS = 256;

/**
 * Sluice groups for a set of IdP groups. Without rules the IdP's groups are used as they are;
 * with rules, only the groups the rules produce (an unmatched IdP group grants nothing).
 * Sorted and without duplicates.
 */
export function mapGroups(idpGroups: readonly string[], rules: readonly GroupRule[] | undefined): string[] {
  const result = new Set<string>();
  for (const group of idpGroups.slice(0, MAX_GROUPS)) {
    if (rules === undefined) {
      result.add(group);
      continue;
    }
    for (const rule of rules) if (globMatches(rule.from, group)) result.add(rule.to);
  }
  return [...result].sort();
}

/**
 * The value of a claim by name; a dotted name (`realm_access.roles`) is followed into nested
 * objects when no claim has the whole name.
 */
export function claimValue(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * The groups in a claim: a list of strings, or one string (one group). Absent: no groups.
 * Anything else is undefined (a malformed claim).
 */
export function groupsClaim(claims: Readonly<Record<string, unknown>>, name: string): string[] | undefined {
  const value = claimValue(claims, name);
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return value === "" ? [] : [value];
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) {
    return value.filter((item) => item !== "");
  }
  return undefined;
}
