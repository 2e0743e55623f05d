import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: number[];
}

interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly where: string;
  readonly selfPct: number;
  readonly totalPct: number;
  /** The nearest project function that most of this function's self time came through. */
  readonly caller: string;
}

export interface ProfileSummary {
  readonly file: string;
  readonly sampledMs: number;
  /** Share of the sampled time the event loop was idle. */
  readonly idlePct: number;
  /** Top functions by self time, as a share of the busy (non-idle) time. */
  readonly topSelf: ProfileEntry[];
  /** Self time grouped by where the code lives (our modules, packages, Node internals, V8). */
  readonly byArea: { area: string; selfPct: number }[];
  /** Top project functions by inclusive time (callees included), share of busy time. */
  readonly topInclusive: ProfileEntry[];
}

const NON_CODE = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/** A short location: repo-relative for our code, the package for dependencies, node:… for internals. */
function shortUrl(url: string, root: string): string {
  let path = url.replace(/^file:\/\//, "");
  if (path.startsWith(root)) path = path.slice(root.length + 1);
  const nm = path.lastIndexOf("node_modules/");
  if (nm >= 0) path = path.slice(nm);
  return path;
}

function areaOf(name: string, where: string): string {
  if (NON_CODE.has(name)) return name;
  if (where === "") return "(native / V8 builtins)";
  if (where.startsWith("node:")) return where.split("/")[0]!.replace(/^node:internal.*/, "node: internals");
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where);
  if (nm) return `pkg ${nm[1]}`;
  const parts = where.split("/");
  return parts.slice(0, Math.min(parts.length - 1, 3)).join("/") || where;
}

/** The main thread's profile in a `--cpu-prof-dir` (the largest file: loader threads are tiny). */
export function findProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  files.sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size);
  return files[0] ? join(dir, files[0]) : undefined;
}

export function summariseProfile(file: string, root: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const keyOf = (node: ProfileNode): string => {
    const where = shortUrl(node.callFrame.url, root);
    // Line numbers are of the code tsx generated; they are only shown when they carry information.
    const line = node.callFrame.lineNumber > 0 ? `:${node.callFrame.lineNumber + 1}` : "";
    return `${node.callFrame.functionName || "(anonymous)"}\u0000${where}${where ? line : ""}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node || delta <= 0) return;
    total += delta;
    if (node.callFrame.functionName === "(idle)") {
      idle += delta;
      return;
    }
    const key = keyOf(node);
    self.set(key, (self.get(key) ?? 0) + delta);
    // The nearest caller in the project's own code, or the direct caller when there is none.
    let up = byId.get(parent.get(id) ?? -1);
    for (let cur = up; cur; cur = byId.get(parent.get(cur.id) ?? -1)) {
      if (shortUrl(cur.callFrame.url, root).startsWith("src/")) {
        up = cur;
        break;
      }
    }
    if (up) {
      const byCaller = callers.get(key) ?? new Map<string, number>();
      const callerKey = keyOf(up);
      byCaller.set(callerKey, (byCaller.get(callerKey) ?? 0) + delta);
      callers.set(key, byCaller);
    }
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const k = keyOf(n);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + delta);
    }
  });
  const busy = Math.max(1, total - idle);
  const entry = (key: string): ProfileEntry => {
    const [name = "", where = ""] = key.split("\u0000");
    const topCaller = [...(callers.get(key) ?? new Map<string, number>()).entries()].sort(
      (a, b) => b[1] - a[1],
    )[0];
    const [callerName = "", callerWhere = ""] = topCaller ? topCaller[0].split("\u0000") : [];
    return {
      name,
      where,
      caller: topCaller ? `${callerName}${callerWhere ? ` (${callerWhere})` : ""}` : "",
      selfPct: ((self.get(key) ?? 0) / busy) * 100,
      totalPct: ((inclusive.get(key) ?? 0) / busy) * 100,
    };
  };
  const areas = new Map<string, number>();
  for (const [key, micros] of self) {
    const [name = "", where = ""] = key.split("\u0000");
    const area = areaOf(name, where);
    areas.set(area, (areas.get(area) ?? 0) + micros);
  }
  return {
    file,
    sampledMs: total / 1000,
    idlePct: (idle / Math.max(1, total)) * 100,
    topSelf: [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key]) => entry(key)),
    byArea: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, micros]) => ({ area, selfPct: (micros / busy) * 100 })),
    topInclusive: [...inclusive.entries()]
      .filter(([key]) => {
        const where = key.split("\u0000")[1] ?? "";
        return where.startsWith("src/");
      })
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key]) => entry(key)),
  };
}
