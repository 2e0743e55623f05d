/**
 * Policy test files (`*.test.yaml` next to the policies): connections to test against and test
 * cases (`given` an identity, a connection and a command, `expect` a decision). Parsing never
 * throws: every problem becomes a diagnostic with file, line and column.
 */
import { isSeq, type Node } from "yaml";
import { z } from "zod";
import type { ConnectionInfo, Effect, PrincipalKind } from "../core/index.ts";
import type { PolicyDiagnostic } from "./errors.ts";
import { issueDiagnostics, nodeAt, parseYamlWithPositions } from "./policy-file.ts";

/** `2024-05-06T10:30:00Z`, `2024-05-06T12:30:00.5+02:00`: a zone is required, so tests are portable. */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

const name = z.string().min(1, "must not be empty");
const names = z.array(name);

const ConnectionSchema = z.strictObject({
  name,
  protocol: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "protocol names are lower case, e.g. postgres"),
  labels: z
    .record(z.string(), z.string({ error: "label values are strings (quote numbers and booleans)" }))
    .default({}),
});

const FileSchema = z.strictObject({
  connections: z.array(z.unknown()).nullable().optional(),
  tests: z.array(z.unknown()).nullable().optional(),
});

const TestSchema = z.strictObject({
  name,
  given: z.strictObject({
    user: name,
    groups: names.default([]),
    kind: z
      .enum(["human", "service", "agent"], { error: "must be one of human, service, agent" })
      .default("human"),
    on_behalf_of: z.strictObject({ user: name, groups: names.default([]) }).optional(),
    connection: name,
    command: name,
    time: z
      .string()
      .refine(
        (t) => ISO_TIMESTAMP.test(t) && !Number.isNaN(Date.parse(t)),
        'must be an ISO timestamp with a zone, e.g. "2024-05-06T10:30:00Z"',
      )
      .optional(),
  }),
  expect: z.strictObject({
    effect: z.enum(["allow", "deny", "approve"], { error: "must be one of allow, deny, approve" }),
    reason: z.string().optional(),
    rules: names.optional(),
    masks: names.optional(),
    approvers: names.optional(),
  }),
});

/** What a test expects; every key but `effect` is optional (absent = not checked). */
export interface PolicyTestExpectation {
  readonly effect: Effect;
  /** A substring of the decision's reason. */
  readonly reason?: string;
  /** The exact set of deciding rule ids. */
  readonly rules?: readonly string[];
  /** The exact set of mask rule ids that applied. */
  readonly masks?: readonly string[];
  /** The exact set of reviewer groups of an approval. */
  readonly approvers?: readonly string[];
}

export interface PolicyTestGiven {
  readonly user: string;
  readonly groups: readonly string[];
  readonly kind: PrincipalKind;
  readonly onBehalfOf?: { readonly user: string; readonly groups: readonly string[] };
  readonly connection: ConnectionInfo;
  readonly command: string;
  /** Instant for `time.*` facts; the current time when absent. */
  readonly time?: Date;
}

export interface PolicyTestCase {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly given: PolicyTestGiven;
  readonly expect: PolicyTestExpectation;
}

/** A test entry that could not be read; it counts as one failed test. */
export interface BrokenPolicyTest {
  /** The test's name when it has one, else `tests[<index>]`. */
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly diagnostics: readonly PolicyDiagnostic[];
}

export interface PolicyTestFile {
  readonly file: string;
  readonly tests: readonly PolicyTestCase[];
  readonly broken: readonly BrokenPolicyTest[];
  /** Problems of the file itself (YAML syntax, shape, connections); they count as one failure. */
  readonly diagnostics: readonly PolicyDiagnostic[];
}

/** Parses one test file; `file` is the name used in diagnostics. */
export function parsePolicyTestFile(file: string, text: string): PolicyTestFile {
  const { doc, pos, nodePos } = parseYamlWithPositions(text);
  const diagnostics: PolicyDiagnostic[] = [];
  const empty = { file, tests: [], broken: [] };

  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      diagnostics.push({ file, ...pos(error.pos[0]), message: `YAML: ${error.message.split("\n")[0]}` });
    }
    return { ...empty, diagnostics };
  }
  const root = doc.contents as Node | null;
  const data: unknown = doc.toJS();
  if (data === null || data === undefined || typeof data !== "object" || Array.isArray(data)) {
    diagnostics.push({
      file,
      ...nodePos(root),
      message: "a policy test file is a mapping with connections and tests",
    });
    return { ...empty, diagnostics };
  }
  const shape = FileSchema.safeParse(data);
  if (!shape.success) {
    for (const issue of shape.error.issues) {
      for (const d of issueDiagnostics(root, issue, data, nodePos)) diagnostics.push({ file, ...d });
    }
  }

  // Connections: a broken entry is a file problem; its name (when readable) is still known, so
  // tests using it are not also reported as using an unknown connection.
  const connections = new Map<string, ConnectionInfo | undefined>();
  const connectionsValue = (data as { connections?: unknown }).connections;
  if (Array.isArray(connectionsValue)) {
    const seqNode = nodeAt(root, ["connections"]).node;
    connectionsValue.forEach((raw, index) => {
      const node = isSeq(seqNode) ? ((seqNode.items[index] as Node | undefined) ?? null) : null;
      const result = ConnectionSchema.safeParse(raw);
      const rawName = (raw as { name?: unknown } | null)?.name;
      const known = typeof rawName === "string" ? rawName : undefined;
      if (known !== undefined && connections.has(known)) {
        diagnostics.push({
          file,
          ...nodePos(nodeAt(node, ["name"]).node),
          message: `duplicate connection name ${known}`,
        });
        return;
      }
      if (!result.success) {
        for (const issue of result.error.issues) {
          for (const d of issueDiagnostics(node, issue, raw, nodePos)) {
            diagnostics.push({ file, ...d, message: `connections[${index}]: ${d.message}` });
          }
        }
        if (known !== undefined) connections.set(known, undefined);
        return;
      }
      connections.set(result.data.name, {
        name: result.data.name,
        protocol: result.data.protocol,
        labels: result.data.labels,
      });
    });
  }

  const tests: PolicyTestCase[] = [];
  const broken: BrokenPolicyTest[] = [];
  const testsValue = (data as { tests?: unknown }).tests;
  if (Array.isArray(testsValue)) {
    const seqNode = nodeAt(root, ["tests"]).node;
    testsValue.forEach((raw, index) => {
      const node = isSeq(seqNode) ? ((seqNode.items[index] as Node | undefined) ?? null) : null;
      const at = nodePos(node);
      const rawName = (raw as { name?: unknown } | null)?.name;
      const testName = typeof rawName === "string" && rawName !== "" ? rawName : `tests[${index}]`;
      const problems: PolicyDiagnostic[] = [];
      const result = TestSchema.safeParse(raw);
      if (!result.success) {
        for (const issue of result.error.issues) {
          for (const d of issueDiagnostics(node, issue, raw, nodePos)) problems.push({ file, ...d });
        }
        broken.push({ name: testName, file, ...at, diagnostics: problems });
        return;
      }
      const spec = result.data;
      const connection = connections.get(spec.given.connection);
      if (connection === undefined) {
        if (!connections.has(spec.given.connection)) {
          const known = [...connections.keys()];
          problems.push({
            file,
            ...nodePos(nodeAt(node, ["given", "connection"]).node),
            message: `unknown connection ${spec.given.connection} (${
              known.length === 0 ? "the file defines no connections" : `known: ${known.join(", ")}`
            })`,
          });
        } else {
          problems.push({
            file,
            ...nodePos(nodeAt(node, ["given", "connection"]).node),
            message: `connection ${spec.given.connection} is invalid (see the file's errors)`,
          });
        }
        broken.push({ name: testName, file, ...at, diagnostics: problems });
        return;
      }
      const given: PolicyTestGiven = {
        user: spec.given.user,
        groups: spec.given.groups,
        kind: spec.given.kind,
        connection,
        command: spec.given.command,
        ...(spec.given.on_behalf_of === undefined
          ? {}
          : { onBehalfOf: { user: spec.given.on_behalf_of.user, groups: spec.given.on_behalf_of.groups } }),
        ...(spec.given.time === undefined ? {} : { time: new Date(spec.given.time) }),
      };
      const e = spec.expect;
      const expect: PolicyTestExpectation = {
        effect: e.effect,
        ...(e.reason === undefined ? {} : { reason: e.reason }),
        ...(e.rules === undefined ? {} : { rules: e.rules }),
        ...(e.masks === undefined ? {} : { masks: e.masks }),
        ...(e.approvers === undefined ? {} : { approvers: e.approvers }),
      };
      tests.push({ name: spec.name, file, ...at, given, expect });
    });
  }
  return { file, tests, broken, diagnostics };
}
