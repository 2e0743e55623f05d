import type { SqlFacts } from "./sql/index.ts";

/** Settings that change how the server reads SQL text; the analyser assumes their defaults. */
const GUARDED_SETTINGS = new Set(["standard_conforming_strings", "client_encoding"]);

/**
 * Refusals the PostgreSQL adapter makes before policy: statements that would make the gateway's
 * reading of later SQL differ from the server's.
 */
export function guardStatement(
  facts: SqlFacts,
): { kind: "guard"; reasonCode: string; reason: string } | undefined {
  for (const setting of facts.settings) {
    if (GUARDED_SETTINGS.has(setting)) {
      return {
        kind: "guard",
        reasonCode: "session-setting-guarded",
        reason: `changing ${setting} is not allowed through the gateway`,
      };
    }
  }
  return undefined;
}
