import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";
import fc from "fast-check";
import { loadSqlParser } from "./load-sql-parser.ts";
import { analyseSql } from "./sql-analyser.ts";
import { normalizeSql } from "./sql-lexer.ts";
import { fill, TEMPLATES } from "./sql-templates.testing.ts";

function key(text: string): string | undefined {
  return normalizeSql(text)?.key;
}

function count(text: string): number | undefined {
  return normalizeSql(text)?.statements;
}

describe("normalizeSql", () => {
  test("literals become placeholders; identifiers, keywords and operators stay", () => {
    assert.deepEqual(normalizeSql("SELECT abalance FROM pgbench_accounts WHERE aid = 123"), {
      key: "SELECT abalance FROM pgbench_accounts WHERE aid = ?",
      statements: 1,
    });
    assert.equal(key("SELECT 'x', E'y', $$z$$, $t$w$t$"), "SELECT '?', '?', '?', '?'");
    assert.equal(key("SELECT 1.5, 3000000000, .5e3, 1E-3"), "SELECT ?f, ?f, ?f, ?f");
    assert.equal(key("SELECT 2147483647, 0002147483647"), "SELECT ?, ?");
    assert.equal(key("SELECT B'101', X'FF', N'abc'"), "SELECT B'?', X'?', N'?'");
    assert.equal(key('SELECT "Mixed""Case" FROM "T"'), 'SELECT "Mixed""Case" FROM "T"');
    assert.equal(key("select A FROM b"), "select A FROM b");
  });

  test("parameter placeholders are not literals", () => {
    assert.equal(key("SELECT * FROM t WHERE a = $1 AND b = $12"), "SELECT * FROM t WHERE a = $1 AND b = $12");
  });

  test("whitespace and comments collapse; adjacency is kept", () => {
    assert.equal(key("  SELECT\t a ,\n b -- x\n FROM t  "), "SELECT a , b FROM t");
    assert.equal(key("DROP/**/TABLE/**/users"), "DROP TABLE users");
    assert.equal(key("SELECT a+-b"), "SELECT a+-b");
    assert.equal(key("SELECT a+/**/-b"), "SELECT a+ -b");
    assert.notEqual(key("SELECT 1 abc"), key("SELECT 1abc"));
  });

  test("nested block comments", () => {
    assert.deepEqual(normalizeSql("SELECT 1 /* outer /* inner */ DROP TABLE users; */"), {
      key: "SELECT ?",
      statements: 1,
    });
    assert.equal(normalizeSql("SELECT 1 /* outer /* inner */ still open"), null);
  });

  test("standard strings: backslash is an ordinary character", () => {
    assert.deepEqual(normalizeSql("SELECT 'a\\'; DROP TABLE users; -- '"), {
      key: "SELECT '?'; DROP TABLE users;",
      statements: 2,
    });
    assert.equal(key("SELECT 'it''s'"), "SELECT '?'");
  });

  test("E strings: backslash escapes the quote", () => {
    assert.deepEqual(normalizeSql("SELECT E'a\\'; DROP TABLE users; -- '"), {
      key: "SELECT '?'",
      statements: 1,
    });
    assert.equal(key("SELECT e'\\\\'"), "SELECT '?'");
    // Escapes whose value can make the parse fail keep the literal.
    assert.equal(key("SELECT E'\\xff'"), "SELECT E'\\xff'");
    assert.equal(key("SELECT E'\\u00e9'"), "SELECT E'\\u00e9'");
    assert.equal(normalizeSql("SELECT E'abc\\"), null);
  });

  test("dollar quotes with tags", () => {
    assert.deepEqual(normalizeSql("SELECT $fn$ DELETE FROM users; $fn$"), {
      key: "SELECT '?'",
      statements: 1,
    });
    assert.equal(key("SELECT $a$ $b$ ; $b$ $a$"), "SELECT '?'");
    assert.equal(key("SELECT $$a$b$$"), "SELECT '?'");
    assert.equal(normalizeSql("SELECT $a$ never closed $b$"), null);
    assert.equal(key("SELECT a$b$c FROM t$"), "SELECT a$b$c FROM t$");
  });

  test("Unicode strings are kept; UESCAPE is refused", () => {
    assert.equal(key('DELETE FROM U&"\\0075sers"'), 'DELETE FROM U&"\\0075sers"');
    assert.equal(key("SELECT U&'d\\0061t'"), "SELECT U&'d\\0061t'");
    // The escape character changes the decoding, and a comment next to UESCAPE is an error.
    assert.equal(normalizeSql("DELETE FROM U&\"!0075sers\" UESCAPE '!'"), null);
    assert.equal(normalizeSql("SELECT U&'!0061' uescape '!'"), null);
    assert.equal(key("SELECT u & v"), "SELECT u & v");
    // `U & <string>` is an operator expression, not a Unicode string.
    assert.notEqual(key("SELECT U&$$?x$$"), key("SELECT U&'?'"));
    assert.notEqual(key("SELECT U&E'?'"), key("SELECT U&'?'"));
    assert.equal(key("SELECT U&$$x$$"), key("SELECT U& 'y'"));
  });

  test("statement counting ignores empty statements and semicolons in strings and comments", () => {
    assert.equal(count("BEGIN; DELETE FROM users; ROLLBACK;"), 3);
    assert.equal(count("SELECT ';' -- ;\n; /* ; */ ;; SELECT 2"), 2);
    assert.equal(count(""), 0);
    assert.equal(count(" -- only a comment"), 0);
  });

  test("refuses what it does not fully understand", () => {
    for (const text of [
      "SELECT 'unterminated",
      'SELECT "unterminated',
      "SELECT /* unterminated",
      "SELECT 'a'\n'b'", // string continuation
      "SELECT 'a' 'b'",
      "SELECT 1abc",
      "SELECT 1e",
      "SELECT 1..2",
      "SELECT $1abc",
      "SELECT 1\u0000",
      "SELECT '\u0000'",
      "SELECT data ? 'k' FROM t", // would be confused with a placeholder
      "SELECT \\x",
      "SELECT $ 1",
      "SELECT B'1''0'",
    ]) {
      assert.equal(normalizeSql(text), null, text);
    }
  });
});

describe("normalizeSql on the analysis corpus", () => {
  before(async () => {
    await loadSqlParser();
  });

  const cases = readFileSync(
    new URL("../../../../test/fixtures/sql-analysis-cases.jsonl", import.meta.url),
    "utf8",
  )
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { id: string; d: string; sql: string; stmts?: number })
    .filter((c) => c.d === "pg");

  for (const c of cases) {
    test(`${c.id}: statement count agrees with the parser`, () => {
      const n = normalizeSql(c.sql);
      if (n === null) return;
      const a = analyseSql(c.sql);
      if (c.stmts !== undefined) assert.equal(n.statements, c.stmts);
      if (a.parsed) assert.equal(n.statements, a.statements.length);
    });
  }
});

describe("normalizeSql properties", () => {
  test("texts from one template share a key, whatever the literal values", () => {
    for (const t of TEMPLATES) {
      fc.assert(
        fc.property(fill(t), fill(t), (a, b) => {
          const ka = normalizeSql(a);
          const kb = normalizeSql(b);
          assert.ok(ka !== null, a);
          assert.ok(kb !== null, b);
          assert.equal(ka.key, kb.key);
          assert.equal(ka.statements, 1);
        }),
        { numRuns: 200 },
      );
    }
  });

  test("texts from different templates never share a key", () => {
    const indexed = fc
      .nat(TEMPLATES.length - 1)
      .chain((i) => fill(TEMPLATES[i]!).map((text) => ({ i, text })));
    fc.assert(
      fc.property(indexed, indexed, (a, b) => {
        fc.pre(a.i !== b.i);
        assert.notEqual(key(a.text), key(b.text));
      }),
      { numRuns: 2000 },
    );
  });

  test("never throws, and keys count statements consistently", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const n = normalizeSql(s);
        if (n !== null) assert.ok(n.statements >= 0);
      }),
      { numRuns: 2000 },
    );
  });
});
