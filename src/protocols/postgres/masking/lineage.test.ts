import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { loadSqlParser } from "../sql/index.ts";
import { type DataRef, type StatementLineage, sqlLineage } from "./lineage.ts";

const show = (refs: readonly DataRef[]): string[] =>
  refs
    .flatMap((r) => (r.kind === "function" ? [] : [r]))
    .map((r) => {
      const rel = r.relation.schema ? `${r.relation.schema}.${r.relation.name}` : r.relation.name;
      return r.kind === "row" ? `${rel}.*row` : `${rel}.${r.column}`;
    })
    .sort();

function one(sql: string): StatementLineage {
  const [lineage] = sqlLineage(sql);
  assert.ok(lineage);
  return lineage;
}

const outputs = (sql: string): string[][] => (one(sql).outputs ?? []).map((o) => show(o.refs));

describe("statement lineage", () => {
  before(() => loadSqlParser());

  it("traces expressions, aliases and casts to the columns they read", () => {
    assert.deepEqual(outputs("SELECT upper(email) AS e, email || '' , email::text, id FROM customers"), [
      ["customers.email"],
      ["customers.email"],
      ["customers.email"],
      ["customers.id"],
    ]);
  });

  it("attributes unqualified columns to every relation in scope and resolves aliases", () => {
    assert.deepEqual(outputs("SELECT c.email, name FROM customers c JOIN orders o ON o.cid = c.id"), [
      ["customers.email"],
      ["customers.name", "orders.name"],
    ]);
    assert.deepEqual(outputs("SELECT s.email FROM sales.customers s"), [["sales.customers.email"]]);
  });

  it("treats whole-row references and stars as every column of the relation", () => {
    // `c` could also be a column named c: both are kept.
    assert.deepEqual(outputs("SELECT row_to_json(c) FROM customers c"), [["customers.*row", "customers.c"]]);
    assert.deepEqual(outputs("SELECT (c).email FROM customers c"), [["customers.*row", "customers.c"]]);
    const star = one("SELECT * FROM customers").outputs?.[0];
    assert.equal(star?.name, "*");
    assert.deepEqual(star?.star, [{ kind: "relation", relation: { name: "customers" } }]);
    assert.deepEqual(outputs("SELECT json_agg(c.*), string_agg(email, ',') FROM customers c"), [
      ["customers.*row"],
      ["customers.email"],
    ]);
  });

  it("follows CTEs, subqueries, set operations and VALUES", () => {
    assert.deepEqual(outputs("WITH x AS (SELECT email AS e, id FROM customers) SELECT upper(e), id FROM x"), [
      ["customers.email"],
      ["customers.id"],
    ]);
    assert.deepEqual(outputs("SELECT lower(m) FROM (SELECT email FROM customers) AS s(m)"), [
      ["customers.email"],
    ]);
    assert.deepEqual(outputs("SELECT (SELECT email FROM customers LIMIT 1)"), [["customers.email"]]);
    assert.deepEqual(outputs("SELECT 1 UNION SELECT email FROM customers"), [["customers.email"]]);
    assert.deepEqual(outputs("SELECT x FROM (SELECT * FROM customers) t(x)"), [["customers.*row"]]);
  });

  it("describes RETURNING, COPY and cursors", () => {
    assert.deepEqual(outputs("UPDATE customers SET name = 'x' WHERE id = 1 RETURNING email, id"), [
      ["customers.email"],
      ["customers.id"],
    ]);
    const copy = one("COPY customers (id, email) TO STDOUT");
    assert.equal(copy.copyOut, "text");
    assert.deepEqual(
      copy.outputs?.map((o) => show(o.refs)),
      [["customers.id"], ["customers.email"]],
    );
    assert.equal(one("COPY (SELECT email FROM customers) TO STDOUT WITH (FORMAT csv)").copyOut, "csv");
    assert.equal(one("COPY customers TO STDOUT (FORMAT binary)").copyOut, "binary");
    assert.equal(one("COPY customers FROM STDIN").copyOut, undefined);
    const declare = one("DECLARE c CURSOR FOR SELECT email FROM customers");
    assert.equal(declare.declaresCursor, "c");
    assert.deepEqual(
      declare.outputs?.map((o) => show(o.refs)),
      [["customers.email"]],
    );
    assert.equal(one("FETCH 5 FROM c").fetchesCursor, "c");
    assert.equal(one("MOVE 5 IN c").fetchesCursor, undefined);
    assert.equal(one("CLOSE ALL").closesCursor, null);
  });

  it("collects columns used in filters, joins, grouping, ordering and CASE conditions", () => {
    const l = one(
      "SELECT id, CASE WHEN ssn LIKE '1%' THEN 1 END FROM customers c JOIN t ON t.k = c.card " +
        "WHERE email LIKE 'a%' GROUP BY phone HAVING count(note) > 1 ORDER BY 1",
    );
    assert.deepEqual(
      show(l.predicateRefs).filter((r) => r.startsWith("customers.")),
      [
        "customers.card",
        "customers.email",
        "customers.id",
        "customers.note",
        "customers.phone",
        "customers.ssn",
      ],
    );
    assert.deepEqual(show(one("SELECT id FROM customers ORDER BY email").predicateRefs), ["customers.email"]);
  });

  it("collects data copied into tables or side channels", () => {
    assert.deepEqual(show(one("INSERT INTO t SELECT email FROM customers").writeRefs), ["customers.email"]);
    assert.deepEqual(show(one("CREATE TABLE t AS SELECT email FROM customers").writeRefs), [
      "customers.email",
    ]);
    assert.deepEqual(show(one("SELECT email INTO t FROM customers").writeRefs), ["customers.email"]);
    assert.deepEqual(show(one("UPDATE t SET x = (SELECT email FROM customers LIMIT 1)").writeRefs), [
      "customers.email",
      "t.email",
    ]);
    assert.deepEqual(show(one("SELECT pg_notify('c', email) FROM customers").writeRefs), ["customers.email"]);
    assert.deepEqual(one("SELECT email FROM customers").writeRefs, []);
  });

  it("keeps the functions a value is computed by, and PREPARE / EXECUTE names", () => {
    const [call] = one("SELECT get_email(id) FROM customers").outputs ?? [];
    assert.deepEqual(call?.refs, [
      { kind: "column", relation: { name: "customers" }, column: "id" },
      { kind: "function", name: "get_email" },
    ]);
    const prepare = one("PREPARE p AS SELECT email FROM customers");
    assert.equal(prepare.preparesStatement, "p");
    assert.deepEqual(
      prepare.outputs?.map((o) => show(o.refs)),
      [["customers.email"]],
    );
    assert.equal(one("EXECUTE p").executesStatement, "p");
  });

  it("bounds nesting instead of overflowing the stack", () => {
    const deep = `SELECT ${"(SELECT ".repeat(80)}1${")".repeat(80)}`;
    assert.throws(() => sqlLineage(deep), /nested too deeply/);
  });
});
