import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { compileCondition } from "./cel.ts";
import { compilePolicyBundle } from "./compile.ts";
import {
  FACT_ROOTS,
  FACT_TABLE_BEGIN,
  FACT_TABLE_END,
  factSchema,
  factTree,
  renderFactTable,
  resolveFactPath,
} from "./fact-schema.ts";

describe("fact schema", () => {
  it("docs/policy.md embeds the generated fact table", async () => {
    const docs = await readFile(new URL("../../docs/policy.md", import.meta.url), "utf8");
    const begin = docs.indexOf(FACT_TABLE_BEGIN);
    const end = docs.indexOf(FACT_TABLE_END);
    assert.ok(begin >= 0 && end > begin, "docs/policy.md lacks the fact-table markers");
    const embedded = docs.slice(begin + FACT_TABLE_BEGIN.length, end).trim();
    // Compare cell by cell, so reformatting the markdown (column padding) does not matter.
    const cells = (table: string) =>
      table
        .trim()
        .split("\n")
        .map((row) =>
          row
            .split(/(?<!\\)\|/)
            .map((cell) => cell.trim())
            .map((cell) => (/^-{3,}$/.test(cell) ? "---" : cell)),
        );
    assert.deepEqual(
      cells(embedded),
      cells(renderFactTable()),
      "docs/policy.md's fact table is out of date: paste the output of\n" +
        `  node --import tsx -e 'import("./src/policy/fact-schema.ts").then((m) => console.log(m.renderFactTable()))'\n` +
        "between the fact-table markers",
    );
  });

  it("has unique paths under known roots", () => {
    const paths = factSchema.map((f) => f.path);
    assert.equal(new Set(paths).size, paths.length);
    for (const path of paths) assert.ok((FACT_ROOTS as readonly string[]).includes(path.split(".")[0] ?? ""));
    assert.deepEqual([...factTree.keys()], [...FACT_ROOTS]);
  });

  it("every fact is readable from CEL with its declared type", () => {
    const sample: Record<string, string> = {
      bool: "true",
      int: "1",
      string: '"x"',
      "string?": "null",
      "list<string>": '["x"]',
      "map<string, string>": '{"k": "v"}',
      "map<string, dyn>": '{"k": dyn(1)}',
      "object?": "null",
    };
    for (const field of factSchema) {
      const has = compileCondition(`has(${field.path})`);
      assert.ok(has.ok, `has(${field.path}) does not compile`);
      const literal = sample[field.type];
      assert.ok(literal !== undefined);
      const typed = compileCondition(`${field.path} == ${literal}`);
      assert.ok(typed.ok, `${field.path} == ${literal}: ${JSON.stringify(typed.ok ? "" : typed.problems)}`);
    }
  });

  it("resolves paths, accepting any key below maps", () => {
    assert.equal(resolveFactPath(["sql", "kinds"]).ok, true);
    assert.equal(resolveFactPath(["connection", "labels", "anything"]).ok, true);
    assert.equal(resolveFactPath(["principal", "on_behalf_of", "user"]).ok, true);
    const bad = resolveFactPath(["sql", "kindz"]);
    assert.equal(bad.ok, false);
    assert.equal(resolveFactPath(["nope"]).ok, false);
  });
});

describe("docs/policy.md", () => {
  it("every complete policy file in the docs compiles", async () => {
    const docs = await readFile(new URL("../../docs/policy.md", import.meta.url), "utf8");
    const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    const files = blocks.filter((b) => b.startsWith("apiVersion:"));
    assert.ok(files.length >= 2);
    files.forEach((text, i) => {
      const bundle = compilePolicyBundle([{ path: `example-${i}.yaml`, text }]);
      assert.ok(bundle.rules.length > 0);
    });
  });
});
