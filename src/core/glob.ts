/**
 * Globs in column patterns: `*` matches any run of characters (including none), `?` exactly one;
 * everything else is literal. The greedy star algorithm: no regex, no recursion, linear in practice.
 */
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
