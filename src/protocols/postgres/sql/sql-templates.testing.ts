/**
 * SQL templates with typed literal slots and random ways of writing each literal, shared by the
 * lexer and cache property tests.
 */

import fc from "fast-check";

/** A literal slot in a template, and ways of writing values of its class. */
export type Slot = "int" | "float" | "str";

const intLiteral = fc.integer({ min: 0, max: 2_147_483_647 }).map(String);

const floatLiteral = fc.oneof(
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}.${b}`),
  fc
    .tuple(fc.nat(), fc.nat(99), fc.constantFrom("e", "E", "e-", "e+"))
    .map(([a, b, e]) => `${a}.${b}${e}${b}`),
  fc.nat().map((a) => `.${a}`),
  fc.bigInt({ min: 2_147_483_648n, max: 10n ** 30n }).map(String),
);

function dollarQuote(s: string): string {
  for (const tag of ["", "q", "q1", "body", "x_y"]) {
    const d = `$${tag}$`;
    if (`${s}${d}`.indexOf(d) === s.length) return `${d}${s}${d}`;
  }
  return `'${s.replaceAll("'", "''")}'`;
}

const stringLiteral = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 30 }).map((s) => s.replaceAll("\u0000", "")),
    // Values that change facts when an analysis reads them.
    fc.constantFrom("", "%", "a%", "1", "0", "t", "f", "role", "search_path", "a", "!", "#"),
  )
  .chain((s) =>
    fc.constantFrom(
      `'${s.replaceAll("'", "''")}'`,
      `E'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`,
      `e'${s.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`,
      dollarQuote(s),
    ),
  );

const literal: Record<Slot, fc.Arbitrary<string>> = {
  int: intLiteral,
  float: floatLiteral,
  str: stringLiteral,
};

export interface Template {
  readonly parts: readonly string[];
  readonly slots: readonly Slot[];
}

function template(strings: TemplateStringsArray, ...slots: Slot[]): Template {
  return { parts: [...strings], slots };
}

export const TEMPLATES: readonly Template[] = [
  template`SELECT abalance FROM pgbench_accounts WHERE aid = ${"int"}`,
  template`UPDATE pgbench_accounts SET abalance = abalance + ${"int"} WHERE aid = ${"int"}`,
  template`INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${"int"}, ${"int"}, ${"int"}, ${"int"}, CURRENT_TIMESTAMP)`,
  template`SELECT * FROM users WHERE email = ${"str"} AND age > ${"int"}`,
  template`UPDATE t SET a = ${"str"} WHERE id = ${"int"}`,
  template`SELECT ${"float"} * price FROM items WHERE name LIKE ${"str"}`,
  template`DELETE FROM t WHERE ${"int"} = ${"int"}`,
  template`SELECT ${"str"}, ${"str"} /* comment ; 'x' */ -- trailing ;
`,
  template`SELECT * FROM t WHERE id IN (${"int"}, ${"int"}, ${"int"})`,
  template`SELECT * FROM t WHERE id = $1 AND name = ${"str"}`,
  template`SELECT * FROM t WHERE id = ${"float"}`,
  template`SELECT * FROM t WHERE id = ${"str"}`,
  template`SELECT * FROM t WHERE id=${"int"}`,
  template`select * from t where id = ${"int"}`,
];

export function fill(t: Template): fc.Arbitrary<string> {
  return fc.tuple(...t.slots.map((s) => literal[s])).map((values) => {
    let out = t.parts[0] ?? "";
    values.forEach((v, i) => {
      out += v + (t.parts[i + 1] ?? "");
    });
    return out;
  });
}

/** Fragments of SQL (keywords, names, operators, separators) for random templates. */
const FRAGMENTS: readonly string[] = [
  "SELECT",
  "FROM",
  "WHERE",
  "DELETE FROM",
  "UPDATE",
  "SET",
  "INSERT INTO",
  "VALUES",
  "t",
  "u",
  "a",
  "u.a",
  "t.*",
  "(",
  ")",
  ",",
  "=",
  "<",
  "+",
  "-",
  "*",
  "::",
  "int",
  "text",
  "bool",
  "AND",
  "OR",
  "NOT",
  "true",
  "NULL",
  "IN",
  "LIKE",
  "BETWEEN",
  "INTERVAL",
  "DAY",
  "LIMIT",
  "FETCH",
  "E",
  "U",
  "&",
  "U&",
  '"q"',
  "UESCAPE",
  "$1",
  "||",
  ".",
  ";",
  "--c\n",
  "/*c*/",
  "\n",
  "set_config",
  "COPY",
  "TO",
  "DO",
];

const piece: fc.Arbitrary<{ text: string } | { slot: Slot }> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...FRAGMENTS).map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.constantFrom<Slot>("int", "float", "str").map((slot) => ({ slot })) },
);

/** Random token sequences with literal slots, joined with or without spaces. */
export const randomTemplate: fc.Arbitrary<Template> = fc
  .array(fc.tuple(piece, fc.constantFrom("", " ")), { minLength: 1, maxLength: 12 })
  .map((items) => {
    const parts: string[] = [""];
    const slots: Slot[] = [];
    for (const [p, sep] of items) {
      if ("slot" in p) {
        slots.push(p.slot);
        parts.push(sep);
      } else {
        parts[parts.length - 1] += p.text + sep;
      }
    }
    return { parts, slots };
  });

type Piece = { readonly text: string } | { readonly slot: Slot };
const t = (text: string): Piece => ({ text });
const slotPiece = fc.constantFrom<Slot>("int", "float", "str").map((slot): Piece => ({ slot }));

function seq(...parts: fc.Arbitrary<Piece[]>[]): fc.Arbitrary<Piece[]> {
  return fc.tuple(...parts).map((lists) => lists.flat());
}

const word = (text: string): fc.Arbitrary<Piece[]> => fc.constant([t(text)]);

/** Small SQL grammar with literal slots: most generated texts parse. */
const { statement } = fc.letrec<{ expr: Piece[]; statement: Piece[] }>((tie) => {
  const expr = tie("expr");
  const column = fc.constantFrom("id", "a", "t.id", "u.a", "name").map((c) => [t(c)]);
  return {
    expr: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      slotPiece.map((p) => [p]),
      column,
      fc.constantFrom("true", "false", "NULL", "$1").map((c) => [t(c)]),
      seq(
        expr,
        fc.constantFrom("=", "<>", "<", ">=", "+", "*", "||", "AND", "OR").map((o) => [t(o)]),
        expr,
      ),
      seq(word("("), expr, word(")")),
      seq(word("NOT"), expr),
      seq(
        expr,
        fc.constantFrom("IS NULL", "IS NOT NULL", "IS TRUE").map((o) => [t(o)]),
      ),
      seq(
        expr,
        word("LIKE"),
        slotPiece.map((p) => [p]),
      ),
      seq(expr, word("IN ("), expr, word(","), expr, word(")")),
      seq(
        expr,
        word("::"),
        fc.constantFrom("int", "text", "bool", "numeric").map((c) => [t(c)]),
      ),
      seq(
        fc.constantFrom("upper", "coalesce", "length").map((f) => [t(f), t("(")]),
        expr,
        word(")"),
      ),
      seq(
        word("INTERVAL"),
        slotPiece.map((p) => [p]),
        word("DAY"),
      ),
      seq(word("EXISTS (SELECT 1 WHERE"), expr, word(")")),
    ),
    statement: fc.oneof(
      seq(word("SELECT"), expr, word("FROM t WHERE"), expr),
      seq(word("SELECT"), expr, word(","), expr),
      seq(word("DELETE FROM t WHERE"), expr),
      seq(word("UPDATE t SET a ="), expr, word("WHERE"), expr),
      seq(word("INSERT INTO t VALUES ("), expr, word(","), expr, word(")")),
      seq(
        word("SELECT set_config("),
        slotPiece.map((p) => [p]),
        word(","),
        expr,
        word(", false)"),
      ),
      seq(
        word("COPY t FROM"),
        slotPiece.map((p) => [p]),
      ),
      seq(
        word("SELECT * FROM t LIMIT"),
        slotPiece.map((p) => [p]),
      ),
      seq(
        word("FETCH"),
        slotPiece.map((p) => [p]),
        word("FROM c"),
      ),
      seq(
        word('SELECT U&"!0061"'),
        fc.constantFrom(" UESCAPE ", " uescape /*c*/ ").map((c) => [t(c)]),
        slotPiece.map((p) => [p]),
      ),
    ),
  };
});

const separator = fc.constantFrom(" ", " ", "  ", "\n", " /* c */ ", " -- c\n", "\t");

/** Mostly-valid SQL statements with literal slots and random whitespace and comments. */
export const grammarTemplate: fc.Arbitrary<Template> = statement.chain((pieces) =>
  fc.array(separator, { minLength: pieces.length, maxLength: pieces.length }).map((seps) => {
    const parts: string[] = [""];
    const slots: Slot[] = [];
    pieces.forEach((p, i) => {
      if ("slot" in p) {
        slots.push(p.slot);
        parts.push(seps[i] ?? " ");
      } else {
        parts[parts.length - 1] += p.text + (seps[i] ?? " ");
      }
    });
    return { parts, slots };
  }),
);
