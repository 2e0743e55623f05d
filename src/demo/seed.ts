/** The demo's sample data: fake customers (with fake PII, for later masking demos) and orders. */

/** Anything that runs one SQL statement without parameters: a `pg.Client` or a PGlite instance. */
export interface SqlRunner {
  query(sql: string): Promise<{ rows: unknown[] }>;
}

const SCHEMA = [
  `CREATE TABLE customers (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL,
    ssn text NOT NULL,
    card text NOT NULL
  )`,
  `CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    item text NOT NULL,
    amount numeric(10, 2) NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
];

// Every value is made up: example.com addresses, SSNs in the never-issued 9xx range, and the
// card networks' published test numbers.
const CUSTOMERS = [
  [1, "Ada Lovelace", "ada@example.com", "900-12-0001", "4111 1111 1111 1111"],
  [2, "Alan Turing", "alan@example.com", "900-12-0002", "5555 5555 5555 4444"],
  [3, "Grace Hopper", "grace@example.com", "900-12-0003", "3782 822463 10005"],
  [4, "Edsger Dijkstra", "edsger@example.com", "900-12-0004", "4012 8888 8888 1881"],
  [5, "Barbara Liskov", "barbara@example.com", "900-12-0005", "5105 1051 0510 5100"],
  [6, "Donald Knuth", "donald@example.com", "900-12-0006", "6011 1111 1111 1117"],
] as const;

const ORDERS = [
  [101, 1, "Analytical engine gears", 1843.0, "shipped", "2024-05-01 09:15:00+00"],
  [102, 2, "Bombe rotor set", 1939.5, "shipped", "2024-05-02 11:40:00+00"],
  [103, 3, "COBOL manual", 59.99, "delivered", "2024-05-03 14:05:00+00"],
  [104, 3, "Nanosecond wire (30 cm)", 0.3, "pending", "2024-05-04 08:30:00+00"],
  [105, 4, "Semaphore kit", 24.5, "pending", "2024-05-05 16:20:00+00"],
  [106, 5, "Abstraction textbook", 89.0, "cancelled", "2024-05-06 10:00:00+00"],
  [107, 6, "TAOCP box set", 249.99, "shipped", "2024-05-07 12:45:00+00"],
  [108, 1, "Punched cards (1000)", 12.0, "pending", "2024-05-08 13:10:00+00"],
] as const;

function literal(value: string | number): string {
  return typeof value === "number" ? String(value) : `'${value.replaceAll("'", "''")}'`;
}

function values(rows: readonly (readonly (string | number)[])[]): string {
  return rows.map((row) => `(${row.map(literal).join(", ")})`).join(",\n  ");
}

/** Creates and fills the tables unless `customers` already exists. Returns whether it seeded. */
export async function seedDemoData(db: SqlRunner): Promise<boolean> {
  const { rows } = await db.query("SELECT to_regclass('public.customers') IS NOT NULL AS present");
  if ((rows[0] as { present?: boolean } | undefined)?.present === true) return false;
  await db.query("BEGIN");
  try {
    for (const statement of SCHEMA) await db.query(statement);
    await db.query(`INSERT INTO customers (id, name, email, ssn, card) VALUES\n  ${values(CUSTOMERS)}`);
    await db.query(
      `INSERT INTO orders (id, customer_id, item, amount, status, created_at) VALUES\n  ${values(ORDERS)}`,
    );
    await db.query("COMMIT");
  } catch (error) {
    await db.query("ROLLBACK").catch(() => {});
    throw error;
  }
  return true;
}
