import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";
import { loadSqlParser } from "./load-sql-parser.ts";
import { analyseSql } from "./sql-analyser.ts";
import type { SqlAnalysis, SqlFacts } from "./sql-types.ts";

interface CorpusCase {
  id: string;
  d: string;
  cat: string;
  sql: string;
  kinds?: string[];
  notKinds?: string[];
  stmts?: number;
  tables?: string[];
  funcs?: string[];
  columns?: string[];
  unfiltered?: boolean;
  tautology?: boolean;
  deep?: string[];
  parse?: string;
}

const corpus: CorpusCase[] = readFileSync(
  new URL("../../../../test/fixtures/sql-analysis-cases.jsonl", import.meta.url),
  "utf8",
)
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as CorpusCase)
  .filter((c) => c.d === "pg");

type ListFact = "kinds" | "tables" | "writes" | "unfiltered_writes" | "functions" | "columns" | "settings";

function union(a: SqlAnalysis, key: ListFact): Set<string> {
  const out = new Set<string>();
  for (const s of a.statements) for (const v of s.facts[key]) out.add(v);
  return out;
}

function assertSubset(expected: readonly string[] | undefined, actual: Set<string>, what: string): void {
  for (const e of expected ?? [])
    assert.ok(actual.has(e), `${what}: expected ${e} in [${[...actual].join(", ")}]`);
}

function only(text: string): SqlFacts {
  const a = analyseSql(text);
  assert.equal(a.statements.length, 1, `one statement in ${text}`);
  return a.statements[0]!.facts;
}

before(async () => {
  await loadSqlParser();
});

describe("PostgreSQL corpus (test/fixtures/sql-analysis-cases.jsonl)", () => {
  test("the corpus holds PostgreSQL cases", () => {
    assert.ok(corpus.length >= 40);
  });

  for (const c of corpus) {
    test(`${c.id} [${c.cat}]`, () => {
      const a = analyseSql(c.sql);
      if (c.parse === "error") {
        assert.equal(a.parsed, false);
        assert.equal(a.statements.length, 1);
        const facts = a.statements[0]!.facts;
        assert.equal(facts.parsed, false);
        assert.equal(facts.dynamic, true);
        assert.deepEqual(facts.kinds, []);
        assert.equal(facts.statement_kind, "unknown");
        return;
      }
      assert.equal(a.parsed, true, a.error);
      const kinds = union(a, "kinds");
      assertSubset(c.kinds, kinds, "kinds");
      for (const k of c.notKinds ?? []) assert.ok(!kinds.has(k), `kinds must not include ${k}`);
      assertSubset(c.deep, kinds, "deep kinds");
      if (c.stmts !== undefined) {
        assert.equal(a.statements.length, c.stmts);
        for (const s of a.statements) assert.equal(s.facts.statements, c.stmts);
      }
      assertSubset(c.tables, union(a, "tables"), "tables");
      assertSubset(c.funcs, union(a, "functions"), "functions");
      assertSubset(c.columns, union(a, "columns"), "columns");
      const unfiltered = union(a, "unfiltered_writes");
      if (c.unfiltered === true || c.tautology === true) {
        for (const t of c.tables ?? []) {
          if (union(a, "writes").has(t)) assert.ok(unfiltered.has(t), `${t} must be an unfiltered write`);
        }
        assert.ok(unfiltered.size > 0, "an unfiltered write must be reported");
      }
      if (c.unfiltered === false) assert.deepEqual([...unfiltered], []);
    });
  }
});

describe("statement kinds and facts", () => {
  test("statement_kind is the top-level kind; kinds adds nested ones", () => {
    const f = only("EXPLAIN ANALYZE DELETE FROM t WHERE id = 1");
    assert.equal(f.statement_kind, "explain");
    assert.deepEqual(f.kinds, ["delete", "explain"]);
    assert.equal(only("SELECT * INTO x FROM t").statement_kind, "select_into");
    assert.equal(only("CREATE TABLE x AS SELECT 1").statement_kind, "create");
    assert.equal(only("VACUUM t").statement_kind, "vacuum");
    assert.equal(only("ANALYZE t").statement_kind, "analyze");
    assert.equal(only("REVOKE SELECT ON t FROM bob").statement_kind, "revoke");
    assert.equal(only("COMMIT").statement_kind, "transaction");
    assert.equal(only("SAVEPOINT a").statement_kind, "transaction");
    assert.equal(only("CREATE EXTENSION dblink").statement_kind, "create_extension");
    assert.equal(only("REFRESH MATERIALIZED VIEW mv").statement_kind, "refresh_materialized_view");
    assert.equal(only("CHECKPOINT").statement_kind, "checkpoint");
    assert.equal(only("LOAD 'x'").statement_kind, "load");
    assert.equal(only("FETCH 5 FROM c").statement_kind, "fetch");
    assert.equal(only("CLOSE c").statement_kind, "close_cursor");
    assert.equal(only("LISTEN ch").statement_kind, "listen");
    assert.equal(only("NOTIFY ch, 'x'").statement_kind, "notify");
    assert.equal(only("LOCK TABLE t").statement_kind, "lock");
    assert.equal(only("SHOW search_path").statement_kind, "show");
    assert.equal(only("ALTER SYSTEM SET work_mem = '1GB'").statement_kind, "alter_system");
    assert.equal(only("CREATE ROLE r SUPERUSER").statement_kind, "create_role");
  });

  test("COPY to and from files and programs", () => {
    assert.deepEqual(only("COPY t FROM PROGRAM 'id'").kinds, ["copy", "copy_program"]);
    const toFile = only("COPY t TO '/tmp/x'");
    assert.deepEqual(toFile.kinds, ["copy", "copy_file"]);
    assert.deepEqual(toFile.writes, []);
    const fromStdin = only("COPY t FROM STDIN");
    assert.deepEqual(fromStdin.kinds, ["copy"]);
    assert.deepEqual(fromStdin.writes, ["t"]);
  });

  test("settings: SET, RESET, SET ROLE, set_config", () => {
    assert.deepEqual(only("SET search_path TO a, public").settings, ["search_path"]);
    assert.deepEqual(only("SET LOCAL statement_timeout = 0").settings, ["statement_timeout"]);
    assert.deepEqual(only("SET TIME ZONE 'UTC'").settings, ["timezone"]);
    assert.deepEqual(only("SET NAMES 'SJIS'").settings, ["client_encoding"]);
    const reset = only("RESET ALL");
    assert.equal(reset.statement_kind, "reset");
    assert.deepEqual(reset.settings, ["all"]);
    assert.deepEqual(only("RESET work_mem").settings, ["work_mem"]);
    const role = only("SET ROLE postgres");
    assert.equal(role.statement_kind, "set_role");
    assert.deepEqual(role.settings, ["role"]);
    assert.deepEqual(only("SET SESSION AUTHORIZATION 'postgres'").settings, ["session_authorization"]);
    // Going back to the login user is a role change as well.
    assert.equal(only("RESET ROLE").statement_kind, "set_role");
    assert.ok(only("DISCARD ALL").kinds.includes("set_role"));
    assert.deepEqual(only("SET TRANSACTION READ WRITE").settings, ["transaction_read_only"]);
    assert.deepEqual(only("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE").settings, [
      "default_transaction_read_only",
    ]);
    const viaFunction = only("SELECT set_config('Role', 'postgres', false)");
    assert.deepEqual(viaFunction.settings, ["role"]);
    assert.ok(viaFunction.kinds.includes("set_role"));
    assert.equal(viaFunction.dynamic, false);
    const computed = only("SELECT set_config(name, 'x', false) FROM t");
    assert.equal(computed.dynamic, true);
    assert.deepEqual(computed.settings, []);
    assert.deepEqual(only("ALTER ROLE bob SET search_path = x").settings, ["search_path"]);
  });

  test("prepared_name for PREPARE, EXECUTE and DEALLOCATE", () => {
    const prepare = only("PREPARE q(int) AS SELECT * FROM t WHERE id = $1");
    assert.equal(prepare.prepared_name, "q");
    assert.deepEqual(prepare.kinds, ["prepare", "select"]);
    assert.equal(prepare.dynamic, false);
    const execute = only("EXECUTE q(1)");
    assert.equal(execute.prepared_name, "q");
    assert.equal(execute.dynamic, true);
    assert.equal(only("DEALLOCATE q").prepared_name, "q");
    assert.equal(only("DEALLOCATE ALL").prepared_name, null);
    assert.equal(only("SELECT 1").prepared_name, null);
    assert.equal(only('EXPLAIN EXECUTE "Q"(1)').prepared_name, "Q");
  });

  test("tables keep their schema; CTE names are not tables, written targets always are", () => {
    const f = only("WITH users AS (SELECT 1) SELECT * FROM users, app.orders");
    assert.deepEqual(f.tables, ["app.orders"]);
    const shadow = only("WITH users AS (SELECT 1) DELETE FROM users");
    assert.deepEqual(shadow.tables, ["users"]);
    assert.deepEqual(shadow.unfiltered_writes, ["users"]);
    // A CTE is visible only inside its own statement.
    const scoped = only("SELECT * FROM secrets, (WITH secrets AS (SELECT 1) SELECT * FROM secrets) s");
    assert.deepEqual(scoped.tables, ["secrets"]);
    assert.deepEqual(only("SELECT * FROM db.public.t").tables, ["db.public.t"]);
    assert.deepEqual(only('SELECT * FROM "Users"').tables, ["Users"]);
  });

  test("columns: names, stars, whole-row references and field selection", () => {
    assert.deepEqual(only("SELECT u.email, upper(name) FROM users u").columns, ["email", "name"]);
    assert.deepEqual(only("SELECT to_jsonb(u) FROM users u").columns, ["*", "u"]);
    assert.deepEqual(only("SELECT (u).ssn FROM users u").columns, ["*", "ssn", "u"]);
    assert.deepEqual(only("SELECT t.* FROM t").columns, ["*"]);
    assert.deepEqual(only("UPDATE t SET a = b WHERE id = 1").columns, ["a", "b", "id"]);
  });

  test("writes and unfiltered writes", () => {
    assert.deepEqual(only("TRUNCATE a, b").unfiltered_writes, ["a", "b"]);
    assert.deepEqual(only("DROP TABLE s.a, b").writes, ["b", "s.a"]);
    assert.deepEqual(only("DROP FUNCTION f(int)").writes, []);
    assert.deepEqual(only("ALTER TABLE t ADD COLUMN c int").writes, ["t"]);
    assert.deepEqual(only("CREATE INDEX i ON t (a)").writes, ["t"]);
    assert.deepEqual(only("GRANT SELECT ON t TO bob").writes, ["t"]);
    const merge = only("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE");
    assert.deepEqual(merge.writes, ["t"]);
    assert.ok(merge.kinds.includes("delete"));
    assert.deepEqual(merge.unfiltered_writes, []);
    assert.deepEqual(
      only("MERGE INTO t USING s ON true WHEN MATCHED THEN UPDATE SET a = 1").unfiltered_writes,
      ["t"],
    );
    assert.deepEqual(
      only("MERGE INTO t USING s ON false WHEN NOT MATCHED BY SOURCE THEN DELETE").unfiltered_writes,
      ["t"],
    );
    assert.deepEqual(
      only("MERGE INTO t USING s ON true WHEN MATCHED AND s.x THEN DELETE").unfiltered_writes,
      [],
    );
    assert.deepEqual(only("UPDATE t SET a = 1 WHERE CURRENT OF c").unfiltered_writes, []);
    assert.deepEqual(only("INSERT INTO t VALUES (1)").kinds, ["insert"]);
    assert.deepEqual(only("INSERT INTO t SELECT * FROM s").kinds, ["insert", "select"]);
  });

  test("tautologies", () => {
    const always = [
      "true",
      "1 = 1",
      "'a' = 'a'",
      "id = id",
      "x OR true",
      "NOT false",
      "1 < 2",
      "'1' = 1",
      "'t'::boolean",
      "1 = 1 AND 2 = 2",
      "name LIKE '%'",
      "id IS NULL OR id IS NOT NULL",
      "id IS NOT DISTINCT FROM id",
      "1 IN (1, 2)",
      "EXISTS (SELECT 1)",
      "(1 = 1) IS TRUE",
      "5 BETWEEN 1 AND 10",
      "a.b = a.b",
      "NOT (1 = 2)",
      "active OR NOT active",
    ];
    for (const w of always) {
      assert.deepEqual(only(`DELETE FROM t WHERE ${w}`).unfiltered_writes, ["t"], w);
    }
    const filtered = [
      "false",
      "id = 1",
      "1 = 2",
      "'a' = 'b'",
      "id = id + 1",
      "x AND true",
      "name LIKE 'a%'",
      "id IN (1, 2)",
      "EXISTS (SELECT 1 FROM u WHERE u.id = t.id)",
      "NULL = NULL",
      "id <> id",
    ];
    for (const w of filtered) {
      assert.deepEqual(only(`DELETE FROM t WHERE ${w}`).unfiltered_writes, [], w);
    }
  });

  test("dynamic SQL and functions that run SQL from strings", () => {
    const dblink = only("SELECT * FROM dblink('x', 'DELETE FROM t') AS r(a int)");
    assert.equal(dblink.dynamic, true);
    assert.ok(dblink.kinds.includes("dynamic_sql"));
    assert.equal(only("SELECT query_to_xml('select * from secrets', true, true, '')").dynamic, true);
    assert.equal(only("SELECT upper('x')").dynamic, false);
    const plpgsql = only("DO $$ DECLARE q text := 'x'; BEGIN EXECUTE q; END $$");
    assert.equal(plpgsql.dynamic, true);
    assert.ok(plpgsql.kinds.includes("dynamic_sql"));
    // Constant strings executed by EXECUTE are analysed too.
    const constant = only("DO $$ BEGIN EXECUTE 'TRUNCATE ' || 'audit'; END $$");
    assert.ok(constant.kinds.includes("truncate"));
    assert.deepEqual(constant.unfiltered_writes, ["audit"]);
    assert.deepEqual(only("DO LANGUAGE plpython3u 'import os'").kinds, ["do"]);
    assert.equal(only("DO LANGUAGE plpython3u 'import os'").dynamic, true);
  });

  test("DO blocks and function bodies are analysed", () => {
    const block = only(
      "DO $b$ DECLARE r record; n int := (SELECT count(*) FROM a); BEGIN FOR r IN SELECT * FROM b LOOP PERFORM f(r.x); END LOOP; UPDATE c SET x = 1; COMMIT; END $b$",
    );
    assert.deepEqual(block.tables, ["a", "b", "c"]);
    assert.deepEqual(block.unfiltered_writes, ["c"]);
    assert.ok(block.kinds.includes("transaction"));
    assert.ok(block.functions.includes("f"));
    const fn = only(
      "CREATE FUNCTION f(a int) RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT id FROM secrets WHERE id = a; DELETE FROM logs; END $$",
    );
    assert.equal(fn.statement_kind, "create_function");
    assert.deepEqual(fn.tables, ["logs", "secrets"]);
    assert.ok(fn.kinds.includes("delete"));
    const sqlFn = only("CREATE FUNCTION g() RETURNS void LANGUAGE sql AS 'DELETE FROM t'");
    assert.ok(sqlFn.kinds.includes("delete"));
    assert.equal(sqlFn.dynamic, false);
    const atomic = only("CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END");
    assert.ok(atomic.kinds.includes("insert"));
    assert.equal(only("CREATE FUNCTION h() RETURNS int LANGUAGE c AS 'lib', 'sym'").dynamic, true);
    assert.equal(
      only("CREATE FUNCTION k() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1 END $$").dynamic,
      true,
    );
  });

  test("empty text and comments only hold no statement", () => {
    assert.deepEqual(analyseSql(""), { parsed: true, statements: [] });
    assert.deepEqual(analyseSql("  -- nothing\n"), { parsed: true, statements: [] });
  });

  test("a NUL character is refused", () => {
    const a = analyseSql("SELECT 1\u0000; DROP TABLE t");
    assert.equal(a.parsed, false);
    assert.equal(a.statements[0]!.facts.parsed, false);
  });

  test("a parse error reports the whole text as one unparsed statement", () => {
    const a = analyseSql("SELECT 1; DROP TABLE");
    assert.equal(a.parsed, false);
    assert.match(a.error ?? "", /syntax error/);
    assert.equal(a.statements.length, 1);
    assert.equal(a.statements[0]!.text, "SELECT 1; DROP TABLE");
    assert.equal(a.statements[0]!.facts.statements, 2);
  });

  test("deeply nested expressions are refused, not crashed on", () => {
    const deep = `SELECT ${"(".repeat(5000)}1${")".repeat(5000)}`;
    const a = analyseSql(deep);
    assert.equal(a.statements.length, 1);
    if (a.parsed) assert.equal(a.statements[0]!.facts.parsed, true);
  });
});

describe("statement slicing", () => {
  test("byte offsets are mapped back to string positions with non-ASCII text", () => {
    const a = analyseSql("SELECT 'é😀ü' AS x; /* ñ */ UPDATE t SET a = '日本' ; SELECT 3");
    assert.deepEqual(
      a.statements.map((s) => s.text),
      ["SELECT 'é😀ü' AS x", "UPDATE t SET a = '日本'", "SELECT 3"],
    );
    assert.deepEqual(
      a.statements.map((s) => s.facts.statement_kind),
      ["select", "update", "select"],
    );
  });

  test("a single statement's text is the whole trimmed input", () => {
    assert.equal(analyseSql("  /* c */ SELECT 1;  ").statements[0]!.text, "/* c */ SELECT 1;");
  });

  test("ASCII multi-statement slices", () => {
    const a = analyseSql("BEGIN; DELETE FROM users;ROLLBACK;");
    assert.deepEqual(
      a.statements.map((s) => s.text),
      ["BEGIN", "DELETE FROM users", "ROLLBACK"],
    );
  });
});

describe("literalSensitive", () => {
  const sensitive = (text: string): boolean => analyseSql(text).statements[0]!.literalSensitive;

  test("facts that read literal values are marked", () => {
    assert.equal(sensitive("DELETE FROM t WHERE 1 = 1"), true);
    assert.equal(sensitive("DELETE FROM t WHERE 1 = 2"), true);
    assert.equal(sensitive("DELETE FROM t WHERE name LIKE 'a%'"), true);
    assert.equal(sensitive("SELECT set_config('role', 'x', false)"), true);
    assert.equal(sensitive("COPY t FROM '/etc/passwd'"), true);
    // An empty file name is missing from the parse tree, like STDIN: COPY is never shared.
    assert.equal(sensitive("COPY t FROM STDIN"), true);
    assert.equal(sensitive("DO $$ BEGIN NULL; END $$"), true);
    assert.equal(sensitive("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'"), true);
  });

  test("facts that only depend on structure are not", () => {
    assert.equal(sensitive("SELECT abalance FROM pgbench_accounts WHERE aid = 42"), false);
    assert.equal(sensitive("UPDATE t SET a = 'x' WHERE id = 5"), false);
    assert.equal(sensitive("UPDATE t SET a = 'x' WHERE true"), false);
    assert.equal(sensitive("INSERT INTO t VALUES (1, 'a', 2.5)"), false);
    assert.equal(sensitive("SET search_path = 'x'"), false);
  });
});

describe("results are immutable", () => {
  test("analyses are frozen", () => {
    const a = analyseSql("SELECT * FROM t");
    assert.ok(Object.isFrozen(a));
    assert.ok(Object.isFrozen(a.statements));
    assert.ok(Object.isFrozen(a.statements[0]));
    assert.ok(Object.isFrozen(a.statements[0]!.facts));
    assert.ok(Object.isFrozen(a.statements[0]!.facts.tables));
  });
});
