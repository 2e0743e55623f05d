import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import fc from "fast-check";
import { loadSqlParser } from "./load-sql-parser.ts";
import { PostgresAnalyser } from "./postgres-analyser.ts";
import { analyseSql } from "./sql-analyser.ts";
import { fill, grammarTemplate, randomTemplate, TEMPLATES } from "./sql-templates.testing.ts";
import type { SqlAnalysis } from "./sql-types.ts";
import { StatementCache } from "./statement-cache.ts";

/** Everything a decision can depend on: the facts and each statement's text. */
function decisionView(a: SqlAnalysis): unknown {
  return { parsed: a.parsed, statements: a.statements.map((s) => ({ text: s.text, facts: s.facts })) };
}

before(async () => {
  await loadSqlParser();
});

describe("StatementCache", () => {
  test("cached results equal a fresh analysis, for any literal values", () => {
    const cache = new StatementCache();
    const anyTemplate = fc.constantFrom(...TEMPLATES).chain(fill);
    fc.assert(
      fc.property(anyTemplate, (text) => {
        assert.deepEqual(decisionView(cache.analyse(text)), decisionView(analyseSql(text)));
      }),
      { numRuns: 3000 },
    );
    const stats = cache.stats();
    assert.ok(stats.normalizedHits > 1000, `normalized hits: ${JSON.stringify(stats)}`);
  });

  test("cached results equal a fresh analysis for random token sequences", () => {
    const cache = new StatementCache();
    const variants = randomTemplate.chain((t) => fc.array(fill(t), { minLength: 2, maxLength: 4 }));
    fc.assert(
      fc.property(variants, (texts) => {
        for (const text of texts) {
          assert.deepEqual(decisionView(cache.analyse(text)), decisionView(analyseSql(text)), text);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test("cached results equal a fresh analysis for generated statements", () => {
    const cache = new StatementCache();
    const variants = grammarTemplate.chain((t) => fc.array(fill(t), { minLength: 2, maxLength: 4 }));
    fc.assert(
      fc.property(variants, (texts) => {
        for (const text of texts) {
          assert.deepEqual(decisionView(cache.analyse(text)), decisionView(analyseSql(text)), text);
        }
      }),
      { numRuns: 3000 },
    );
    assert.ok(cache.stats().normalizedHits > 500, JSON.stringify(cache.stats()));
  });

  test("pgbench-style statements are served from the normalized cache", () => {
    const cache = new StatementCache();
    cache.analyse("SELECT abalance FROM pgbench_accounts WHERE aid = 1");
    const hit = cache.analyse("SELECT abalance FROM pgbench_accounts WHERE aid = 77");
    assert.equal(cache.stats().normalizedHits, 1);
    assert.equal(hit.statements[0]!.text, "SELECT abalance FROM pgbench_accounts WHERE aid = 77");
    assert.deepEqual(
      decisionView(hit),
      decisionView(analyseSql("SELECT abalance FROM pgbench_accounts WHERE aid = 77")),
    );
    // A comment changes the text, not the facts.
    const commented = cache.analyse("SELECT abalance FROM pgbench_accounts /* x */ WHERE aid = 5 -- y");
    assert.equal(cache.stats().normalizedHits, 2);
    assert.equal(
      commented.statements[0]!.text,
      "SELECT abalance FROM pgbench_accounts /* x */ WHERE aid = 5 -- y",
    );
  });

  test("tautologies that depend on literals are never shared", () => {
    for (const order of [
      ["DELETE FROM t WHERE 1 = 1", "DELETE FROM t WHERE 1 = 2"],
      ["DELETE FROM t WHERE 1 = 2", "DELETE FROM t WHERE 1 = 1"],
    ]) {
      const cache = new StatementCache();
      for (const text of [...order, ...order]) cache.analyse(text);
      assert.deepEqual(cache.analyse("DELETE FROM t WHERE 1 = 1").statements[0]!.facts.unfiltered_writes, [
        "t",
      ]);
      assert.deepEqual(cache.analyse("DELETE FROM t WHERE 1 = 2").statements[0]!.facts.unfiltered_writes, []);
      assert.deepEqual(cache.analyse("DELETE FROM t WHERE 7 = 7").statements[0]!.facts.unfiltered_writes, [
        "t",
      ]);
      assert.equal(cache.stats().normalizedHits, 0);
      assert.equal(cache.stats().normalizedSize, 0);
    }
  });

  test("other literal-dependent facts are not shared either", () => {
    const cache = new StatementCache();
    cache.analyse("SELECT set_config('work_mem', '1MB', false)");
    assert.deepEqual(
      cache.analyse("SELECT set_config('role', 'postgres', false)").statements[0]!.facts.settings,
      ["role"],
    );
    cache.analyse("DO $$ BEGIN PERFORM 1; END $$");
    assert.ok(
      cache.analyse("DO $$ BEGIN DELETE FROM users; END $$").statements[0]!.facts.kinds.includes("delete"),
    );
    cache.analyse("COPY t FROM ''");
    assert.ok(cache.analyse("COPY t FROM '/etc/passwd'").statements[0]!.facts.kinds.includes("copy_file"));
    cache.analyse("DELETE FROM U&\"!0075sers\" UESCAPE '!'");
    assert.deepEqual(cache.analyse("DELETE FROM U&\"!0075sers\" UESCAPE '#'").statements[0]!.facts.tables, [
      "!0075sers",
    ]);
    assert.equal(cache.stats().normalizedHits, 0);
  });

  test("a literal of another class is not served from a shape it cannot have", () => {
    const cache = new StatementCache();
    assert.equal(cache.analyse("SELECT INTERVAL '1' DAY").parsed, true);
    assert.equal(cache.analyse("SELECT INTERVAL 1 DAY").parsed, false);
    assert.equal(cache.analyse("FETCH 5 FROM c").parsed, true);
    assert.equal(cache.analyse("FETCH 5.5 FROM c").parsed, false);
  });

  test("unparsed and multi-statement texts are cached by exact text only", () => {
    const cache = new StatementCache();
    cache.analyse("SELECT 1 FROM");
    assert.equal(cache.analyse("SELECT 2 FROM").parsed, false);
    cache.analyse("SELECT 1; SELECT 2");
    const multi = cache.analyse("SELECT 3; SELECT 4");
    assert.deepEqual(
      multi.statements.map((s) => s.text),
      ["SELECT 3", "SELECT 4"],
    );
    assert.equal(cache.stats().normalizedHits, 0);
    assert.equal(cache.stats().normalizedSize, 0);
    cache.analyse("SELECT 3; SELECT 4");
    assert.equal(cache.stats().exactHits, 1);
  });

  test("both maps are bounded LRUs", () => {
    const cache = new StatementCache({ exactEntries: 3, normalizedEntries: 2 });
    for (let i = 0; i < 10; i++) cache.analyse(`SELECT ${i} FROM t${i}`);
    assert.equal(cache.stats().exactSize, 3);
    assert.equal(cache.stats().normalizedSize, 2);
    // The most recent entries survive; touching one keeps it over a newer one.
    cache.analyse("SELECT 7 FROM t7");
    assert.equal(cache.stats().exactHits, 1);
    cache.analyse("SELECT 8 FROM t8");
    cache.analyse("SELECT 100 FROM u");
    cache.analyse("SELECT 7 FROM t7");
    assert.equal(cache.stats().exactHits, 3);
    cache.analyse("SELECT 9 FROM t9");
    assert.equal(cache.stats().exactHits, 3);
    assert.equal(cache.stats().exactSize, 3);
  });

  test("long texts are analysed but not kept", () => {
    const cache = new StatementCache({ maxTextLength: 20 });
    const text = "SELECT a, b, c, d FROM some_table";
    cache.analyse(text);
    cache.analyse(text);
    assert.equal(cache.stats().exactSize, 0);
    assert.equal(cache.stats().misses, 2);
  });

  test("results are frozen", () => {
    const cache = new StatementCache();
    cache.analyse("SELECT a FROM t WHERE id = 1");
    const hit = cache.analyse("SELECT a FROM t WHERE id = 2");
    assert.ok(Object.isFrozen(hit));
    assert.ok(Object.isFrozen(hit.statements));
    assert.ok(Object.isFrozen(hit.statements[0]));
    assert.ok(Object.isFrozen(hit.statements[0]!.facts));
  });
});

describe("PostgresAnalyser", () => {
  test("one sql.statement command per statement, facts under sql", async () => {
    const analyser = await PostgresAnalyser.create();
    assert.equal(analyser.protocol, "postgres");
    const commands = analyser.analyse("SELECT * FROM users; DELETE FROM orders");
    assert.deepEqual(
      commands.map((c) => [c.kind, c.text, (c.facts.sql as { statement_kind: string }).statement_kind]),
      [
        ["sql.statement", "SELECT * FROM users", "select"],
        ["sql.statement", "DELETE FROM orders", "delete"],
      ],
    );
    assert.equal(analyser.analyse("SELECT * FROM users; DELETE FROM orders"), commands);
  });

  test("unparseable text yields one command with sql.parsed false", async () => {
    const analyser = await PostgresAnalyser.create();
    const [command, ...rest] = analyser.analyse("SELEC * FROM users");
    assert.equal(rest.length, 0);
    assert.ok(command !== undefined);
    assert.equal((command.facts.sql as { parsed: boolean }).parsed, false);
  });
});
