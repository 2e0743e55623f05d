export { NO_RULE_ALLOWED, PolicyBundle } from "./bundle.ts";
export {
  bundleHash,
  type CompileOptions,
  compilePolicyBundle,
  type PolicyFile,
  type PolicyOptions,
} from "./compile.ts";
export { PolicyEngine } from "./engine.ts";
export { formatDiagnostic, type PolicyDiagnostic, PolicyError } from "./errors.ts";
export { type ExplainedStatement, explainCommands, explanationJson, visibleFacts } from "./explain-report.ts";
export {
  FACT_NAMESPACES,
  FACT_ROOTS,
  type FactField,
  type FactRoot,
  type FactType,
  factSchema,
  renderFactTable,
} from "./fact-schema.ts";
export { loadPolicyBundle, readPolicyFiles, readPolicyTestFiles } from "./load.ts";
export {
  type BrokenPolicyTest,
  type PolicyTestCase,
  type PolicyTestExpectation,
  type PolicyTestFile,
  type PolicyTestGiven,
  parsePolicyTestFile,
} from "./policy-test-file.ts";
export {
  type BatchOutcome,
  combineDecisions,
  evaluatePolicyTests,
  type PolicyTestMismatch,
  type PolicyTestOptions,
  type PolicyTestReport,
  type PolicyTestResult,
  runPolicyTests,
  SettableClock,
  type StatementOutcome,
  testAction,
} from "./policy-test-runner.ts";
export type { TimeFacts } from "./time.ts";
export type {
  MaskRequirement,
  MaskStrategy,
  PolicyDecision,
  PolicyExplanation,
  RuleEffect,
  RuleExplanation,
  RuleMode,
  RuleSummary,
} from "./types.ts";
