/**
 * Name globs for `match` (connections, users): `*` matches any run of characters (including none),
 * `?` exactly one. Everything else is literal and case-sensitive. Matching is linear-time in
 * practice (the classic greedy star algorithm, no recursion, no regex).
 */

import { globMatches, isGlob } from "../core/index.ts";

export { globMatches };

export type NameMatcher = (name: string) => boolean;

/** Why a glob is rejected, or undefined when it is valid. */
export function globProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return "empty name or glob";
  if (pattern.includes("**")) return `glob "${pattern}" has "**"; a single "*" already matches any run`;
  const bad = /[\s[\]{}\\]/.exec(pattern);
  if (bad !== null) {
    return `glob "${pattern}" contains ${JSON.stringify(bad[0])}; only "*" and "?" are wildcards`;
  }
  return undefined;
}

/** One matcher for a list of names and globs (OR). Exact names use a Set lookup. */
export function compileNameList(patterns: readonly string[]): NameMatcher {
  const exact = new Set<string>();
  const globs: string[] = [];
  for (const pattern of patterns) {
    if (isGlob(pattern)) globs.push(pattern);
    else exact.add(pattern);
  }
  if (globs.length === 0) return (name) => exact.has(name);
  return (name) => {
    if (exact.has(name)) return true;
    for (const glob of globs) if (globMatches(glob, name)) return true;
    return false;
  };
}
