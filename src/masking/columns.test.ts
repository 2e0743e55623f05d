import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ColumnPattern } from "./columns.ts";
import { MaskingError } from "./errors.ts";

const customersEmail = { table: "customers", column: "email" };

describe("column patterns", () => {
  it("table.column matches the table in any schema; a missing schema is public", () => {
    const p = new ColumnPattern("customers.email");
    assert.ok(p.matches(customersEmail));
    assert.ok(p.matches({ schema: "public", ...customersEmail }));
    assert.ok(p.matches({ schema: "sales", ...customersEmail }));
    assert.ok(!p.matches({ table: "customers", column: "phone" }));
    assert.ok(!p.matches({ table: "users", column: "email" }));
  });

  it("schema.table.column matches only that schema", () => {
    const p = new ColumnPattern("public.customers.email");
    assert.ok(p.matches(customersEmail));
    assert.ok(p.matches({ schema: "public", ...customersEmail }));
    assert.ok(!p.matches({ schema: "sales", ...customersEmail }));
    assert.ok(new ColumnPattern("sales.customers.email").matches({ schema: "sales", ...customersEmail }));
  });

  it("a bare column matches it in every table", () => {
    const p = new ColumnPattern("email");
    assert.ok(p.matches(customersEmail));
    assert.ok(p.matches({ schema: "x", table: "users", column: "email" }));
    assert.ok(!p.matches({ table: "email", column: "id" }));
  });

  it("compares lower-cased, like PostgreSQL's folding of unquoted names", () => {
    assert.ok(new ColumnPattern("Customers.EMAIL").matches(customersEmail));
    assert.ok(
      new ColumnPattern("customers.email").matches({ schema: "Public", table: "CUSTOMERS", column: "Email" }),
    );
  });

  it("segments may be globs", () => {
    assert.ok(new ColumnPattern("*.email").matches(customersEmail));
    assert.ok(new ColumnPattern("customers.*").matches(customersEmail));
    assert.ok(new ColumnPattern("cust*.e?ail").matches(customersEmail));
    assert.ok(new ColumnPattern("*.*.email").matches({ schema: "sales", ...customersEmail }));
    assert.ok(!new ColumnPattern("hr_*.*.salary").matches({ table: "staff", column: "salary" }));
    assert.ok(
      new ColumnPattern("hr_*.*.salary").matches({ schema: "hr_eu", table: "staff", column: "salary" }),
    );
  });

  it("names JSON keys only by a plain column segment", () => {
    assert.equal(new ColumnPattern("customers.Email").columnName, "email");
    assert.equal(new ColumnPattern("*.email").columnName, "email");
    assert.equal(new ColumnPattern("customers.*").columnName, undefined);
  });

  it("rejects empty segments, more than three segments and other characters", () => {
    for (const bad of [
      "",
      ".email",
      "customers.",
      "a..b",
      "db.public.customers.email",
      "customers.e-mail",
      "a b",
    ]) {
      assert.throws(() => new ColumnPattern(bad), MaskingError, bad);
    }
  });
});
