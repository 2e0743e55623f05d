/**
 * Functions that run SQL (or read relations) named inside string arguments, so the statement
 * does more than its parse tree shows. Names are matched lower-case and without schema, except
 * for extension functions whose bare names are too common to match alone.
 */

const PREFIXES: readonly string[] = [
  "dblink", // dblink, dblink_exec, dblink_open, dblink_send_query, ...
  "query_to_xml", // query_to_xml, query_to_xmlschema, query_to_xml_and_xmlschema
  "table_to_xml", // read the relation named in the argument
  "schema_to_xml",
  "database_to_xml",
  "crosstab", // tablefunc: crosstab, crosstab2, ...
];

const NAMES: ReadonlySet<string> = new Set(["ts_stat", "connectby", "pg_background_launch"]);

const QUALIFIED: ReadonlySet<string> = new Set([
  "cron.schedule",
  "cron.schedule_in_database",
  "cron.alter_job",
]);

export function runsSqlFromText(name: string, schema: string | undefined): boolean {
  if (NAMES.has(name)) return true;
  for (const p of PREFIXES) if (name.startsWith(p)) return true;
  return schema !== undefined && QUALIFIED.has(`${schema}.${name}`);
}
