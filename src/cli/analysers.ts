import type { CommandAnalyser } from "../core/index.ts";
import { PostgresAnalyser } from "../protocols/postgres/index.ts";

/** The data path's analysers, one per protocol, for the policy tools (tests and explain). */
export async function createAnalysers(): Promise<readonly CommandAnalyser[]> {
  return [await PostgresAnalyser.create()];
}
