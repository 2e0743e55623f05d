/**
 * Masking cost on a large result: the same 100,000-row result fetched by psql through the same
 * gateway, once from a table a mask rule covers (one text column redacted, the email detector
 * over the other text cells) and once from an identical table no rule covers. Target: masked at
 * most 1.5x the unmasked time.
 */
import { runProcess } from "../test/harness/run-process.ts";
import type { Endpoint } from "./pgbench-runner.ts";

export const MASKED_ROWS = 100_000;

export interface MaskedResultBench {
  readonly rows: number;
  readonly directMs: number;
  readonly unmaskedMs: number;
  /** One column redacted by a column rule: the target. */
  readonly maskedMs: number;
  /** The same plus the email detector over the other text cells. */
  readonly detectorsMs: number;
}

/** Creates `customers` (masked by the bench policy) and `customers_plain` with the same rows. */
export const MASKED_RESULT_SETUP = `
CREATE TABLE customers (id int PRIMARY KEY, name text, email text, note text);
INSERT INTO customers SELECT g, 'customer ' || g, 'user' || g || '@example.com', 'no remarks for order ' || g
  FROM generate_series(1, ${MASKED_ROWS}) g;
CREATE TABLE customers_plain AS SELECT * FROM customers;
CREATE TABLE contacts AS SELECT * FROM customers;
`;

async function fetchMs(endpoint: Endpoint, table: string): Promise<number> {
  const conninfo = `host=${endpoint.host} port=${endpoint.port} dbname=${endpoint.dbname} user=${endpoint.user} sslmode=${endpoint.sslmode}`;
  const started = process.hrtime.bigint();
  const result = await runProcess(
    "psql",
    [conninfo, "-X", "-At", "-o", "/dev/null", "-c", `SELECT id, name, email, note FROM ${table}`],
    { env: { ...process.env, PGPASSWORD: endpoint.password }, timeoutMs: 120_000 },
  );
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.code !== 0) throw new Error(`psql failed on ${table}: ${result.stderr.trim()}`);
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Alternates masked and unmasked fetches so drift hits both alike; medians of `rounds`. */
export async function runMaskedResultBench(
  direct: Endpoint,
  sluice: Endpoint,
  rounds: number,
): Promise<MaskedResultBench> {
  const direct_: number[] = [];
  const unmasked: number[] = [];
  const masked: number[] = [];
  const detectors: number[] = [];
  // Warm the catalog and statement caches.
  for (const table of ["customers", "contacts", "customers_plain"]) await fetchMs(sluice, table);
  for (let i = 0; i < rounds; i++) {
    direct_.push(await fetchMs(direct, "customers"));
    unmasked.push(await fetchMs(sluice, "customers_plain"));
    masked.push(await fetchMs(sluice, "contacts"));
    detectors.push(await fetchMs(sluice, "customers"));
  }
  return {
    rows: MASKED_ROWS,
    directMs: median(direct_),
    unmaskedMs: median(unmasked),
    maskedMs: median(masked),
    detectorsMs: median(detectors),
  };
}

export function formatMaskedResultBench(b: MaskedResultBench): string[] {
  const ratio = b.maskedMs / b.unmaskedMs;
  return [
    `Masked result (${b.rows.toLocaleString("en")} rows, 4 columns, psql to /dev/null, median):`,
    "",
    "| Path | ms | vs Sluice unmasked |",
    "| --- | ---: | ---: |",
    `| postgres (direct) | ${b.directMs.toFixed(0)} | ${(b.directMs / b.unmaskedMs).toFixed(2)}x |`,
    `| sluice, no mask rule applies | ${b.unmaskedMs.toFixed(0)} | 1.00x |`,
    `| sluice, email redacted (column rule) | ${b.maskedMs.toFixed(0)} | ${ratio.toFixed(2)}x |`,
    `| sluice, email redacted + email detector on name and note | ${b.detectorsMs.toFixed(0)} | ${(b.detectorsMs / b.unmaskedMs).toFixed(2)}x |`,
    "",
    `Target (one text column masked ≤ 1.5x unmasked): ${ratio <= 1.5 ? "met" : "MISSED"} (${ratio.toFixed(2)}x).`,
  ];
}
