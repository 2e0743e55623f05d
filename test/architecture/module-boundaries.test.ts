import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const root = resolve(import.meta.dirname, "../../src");

/** Which top-level modules each module may import. Protocols and policy never see each other. */
const allowed: Record<string, readonly string[]> = {
  core: [],
  config: ["core"],
  identity: ["core"],
  policy: ["core"],
  masking: ["core"],
  store: ["core"],
  audit: ["core", "store"],
  recording: ["core", "store", "identity"],
  approvals: ["core", "store", "audit"],
  gate: ["core", "audit", "store", "recording", "approvals"],
  protocols: ["core", "masking"],
  // The MCP endpoint sees the gate only through GatePort and runs SQL through the PostgreSQL listener.
  mcp: ["core", "masking"],
  // The web console reads through the modules it shows; the composition root hands it identity checks.
  console: ["core", "store", "audit", "recording", "approvals", "policy"],
  app: [
    "core",
    "config",
    "identity",
    "policy",
    "store",
    "audit",
    "recording",
    "approvals",
    "gate",
    "protocols",
    "mcp",
    "console",
  ],
  cli: [
    "core",
    "config",
    "identity",
    "policy",
    "store",
    "audit",
    "recording",
    "approvals",
    "app",
    "protocols",
  ],
  demo: ["core", "config", "identity", "policy", "store", "app", "protocols"],
  types: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)/g)].map(
    (m) => (m[1] ?? m[2])!,
  );
}

const moduleOf = (path: string): string => relative(root, path).split("/")[0]!;

test("modules import only what the architecture allows, through each module's index.ts", () => {
  const problems: string[] = [];
  for (const file of sourceFiles(root)) {
    const from = moduleOf(file);
    for (const spec of imports(file)) {
      const target = resolve(dirname(file), spec);
      const to = moduleOf(target);
      if (to === from) {
        // Protocol adapters are separate modules too: postgres must not reach into mysql.
        if (
          from === "protocols" &&
          relative(root, file).split("/")[1] !== relative(root, target).split("/")[1]
        ) {
          problems.push(`${relative(root, file)} imports another protocol: ${spec}`);
        }
        continue;
      }
      if (!(allowed[from] ?? []).includes(to))
        problems.push(`${relative(root, file)} (${from}) may not import ${to}: ${spec}`);
      const inside = relative(join(root, to), target).split("/");
      const viaIndex =
        inside[inside.length - 1] === "index.ts" && (to !== "protocols" || inside.length === 2);
      if (!viaIndex) problems.push(`${relative(root, file)} imports ${to} past its index.ts: ${spec}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("the boundary check sees imports at all (guards against a vacuous pass)", () => {
  const gate = imports(join(root, "gate", "gate.ts"));
  assert.ok(gate.some((spec) => spec.includes("core/index.ts")));
  assert.ok(sourceFiles(join(root, "protocols")).length > 10);
});
