/**
 * Name globs for `match` (connections, users): `*` matches any run of characters (including none),
 * `?` exactly one. Everything else is literal and case-sensitive. Matching is linear-time in
 * practice (the classic greedy star algorithm, no recursion, no regex).
 */

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

export function isGlob(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

export function globMatches(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const pc = pattern.charCodeAt(p);
    if (p < pattern.length && (pc === 63 /* ? */ || pc === name.charCodeAt(n))) {
      p++;
      n++;
    } else if (p < pattern.length && pc === 42 /* * */) {
      star = p++;
      resume = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
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
