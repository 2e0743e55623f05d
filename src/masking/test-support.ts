import type { MaskRule } from "./engine.ts";

export const HASH_KEY = "test-gateway-hash-key-0123456789";

export function rule(ruleId: string, spec: Partial<Omit<MaskRule, "ruleId">>): MaskRule {
  return {
    ruleId,
    columns: spec.columns ?? [],
    detectors: spec.detectors ?? [],
    strategy: spec.strategy ?? "redact",
  };
}
