import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCodes, SluiceError } from "../core/index.ts";
import { bundleHash, compilePolicyBundle, type PolicyFile } from "./compile.ts";
import { formatDiagnostic, type PolicyDiagnostic, PolicyError } from "./errors.ts";
import { sqlAction } from "./test-support.ts";

function diagnosticsOf(files: PolicyFile[] | string): readonly PolicyDiagnostic[] {
  const list = typeof files === "string" ? [{ path: "prod.yaml", text: files }] : files;
  try {
    compilePolicyBundle(list, { displayRoot: "policies" });
  } catch (error) {
    assert.ok(error instanceof PolicyError);
    return error.diagnostics;
  }
  assert.fail("expected a PolicyError");
}

function messagesOf(files: PolicyFile[] | string): string[] {
  return diagnosticsOf(files).map(formatDiagnostic);
}

const header = "apiVersion: sluice/v1\nrules:\n";

describe("policy file shape", () => {
  it("accepts the documented format", () => {
    const bundle = compilePolicyBundle([
      {
        path: "prod.yaml",
        text: `${header}  - id: no-drop-in-prod
    description: Nobody drops or truncates tables in production
    mode: shadow
    match:
      protocols: [postgres]
      connections: [pg-prod, "pg-*"]
      groups: [engineers]
      users: [alice@corp.example, "*@corp.example"]
      principal_kind: [human]
    when: '"drop" in sql.kinds || "truncate" in sql.kinds'
    effect: deny
    reason: "DROP and TRUNCATE are not allowed on {{connection.name}}"
  - id: approve-writes
    match:
      connections: { names: [pg-prod], labels: { env: prod } }
    effect: approve
    approval: { reviewers: [dba], min_approvals: 1, ttl: 1h }
  - id: mask-email
    effect: mask
    mask: { columns: [customers.email], detectors: [email], strategy: redact }
`,
      },
      { path: "empty.yml", text: "apiVersion: sluice/v1\nrules: []\n" },
    ]);
    assert.deepEqual(
      bundle.rules.map((r) => [r.id, r.file, r.line, r.mode, r.effect]),
      [
        ["no-drop-in-prod", "prod.yaml", 3, "shadow", "deny"],
        ["approve-writes", "prod.yaml", 15, "enforce", "approve"],
        ["mask-email", "prod.yaml", 20, "enforce", "mask"],
      ],
    );
  });

  it("orders rules by file path, then position", () => {
    const bundle = compilePolicyBundle([
      { path: "b.yaml", text: `${header}  - id: b1\n    effect: allow\n  - id: b2\n    effect: allow\n` },
      { path: "a/z.yaml", text: `${header}  - id: az\n    effect: allow\n` },
      { path: "a.yaml", text: `${header}  - id: a\n    effect: allow\n` },
    ]);
    assert.deepEqual(
      bundle.rules.map((r) => r.id),
      ["a", "az", "b1", "b2"],
    );
  });

  it("rejects unknown keys, bad values and missing fields with positions", () => {
    const messages = messagesOf(`${header}  - id: Bad_Id
    effect: allow
  - id: r1
    effect: permit
    mode: loud
    extra: 1
    match: { protocol: [postgres], principal_kind: [robot] }
  - id: r2
    description: no effect
`);
    assert.deepEqual(messages, [
      "policies/prod.yaml:3:9: rule Bad_Id: id: rule ids are lower case letters, digits and dashes",
      "policies/prod.yaml:6:13: rule r1: effect: must be one of allow, deny, approve, mask",
      "policies/prod.yaml:7:11: rule r1: mode: must be enforce or shadow",
      "policies/prod.yaml:8:5: rule r1: unknown field extra",
      "policies/prod.yaml:9:14: rule r1: unknown field match.protocol",
      "policies/prod.yaml:9:53: rule r1: match.principal_kind.0: must be one of human, service, agent",
      "policies/prod.yaml:10:5: rule r2: missing required field effect",
    ]);
  });

  it("requires apiVersion sluice/v1 and a mapping", () => {
    assert.deepEqual(messagesOf("apiVersion: sluice/v2\nrules: []\nkind: Policy\n"), [
      "policies/prod.yaml:1:13: apiVersion: must be sluice/v1",
      "policies/prod.yaml:3:1: unknown field kind",
    ]);
    assert.deepEqual(messagesOf("rules: []\n"), [
      "policies/prod.yaml:1:1: missing required field apiVersion",
    ]);
    assert.deepEqual(messagesOf("- just a list\n"), [
      "policies/prod.yaml:1:1: a policy file is a mapping with apiVersion: sluice/v1 and rules",
    ]);
    assert.deepEqual(messagesOf(`${header}  - not a mapping\n`), [
      "policies/prod.yaml:3:5: rules[0] must be a mapping",
    ]);
  });

  it("reports YAML syntax errors with positions", () => {
    const [first] = messagesOf(`${header}  - id: a\n    effect: allow\n    effect: deny\n`);
    assert.match(first ?? "", /^policies\/prod\.yaml:5:5: YAML: Map keys must be unique/);
    const [second] = messagesOf("apiVersion: sluice/v1\n---\nrules: []\n");
    assert.match(second ?? "", /^policies\/prod\.yaml:2:1: YAML: Source contains multiple documents/);
  });

  it("rejects duplicate ids across files", () => {
    assert.deepEqual(
      messagesOf([
        { path: "a.yaml", text: `${header}  - id: dup\n    effect: allow\n` },
        {
          path: "b.yaml",
          text: `${header}  - id: other\n    effect: allow\n  - id: dup\n    effect: deny\n`,
        },
      ]),
      ["policies/b.yaml:5:9: rule dup: duplicate rule id (first defined at policies/a.yaml:3:5)"],
    );
  });

  it("requires effect details iff the effect needs them", () => {
    assert.deepEqual(
      messagesOf(`${header}  - id: a
    effect: approve
  - id: m
    effect: mask
  - id: x
    effect: allow
    approval: { reviewers: [dba] }
    mask: { columns: [t.c] }
  - id: y
    effect: approve
    approval: { reviewers: [], min_approvals: 0, ttl: soon }
  - id: z
    effect: mask
    mask: { strategy: redact }
`),
      [
        "policies/prod.yaml:4:13: rule a: effect approve needs an approval block",
        "policies/prod.yaml:6:13: rule m: effect mask needs a mask block",
        "policies/prod.yaml:9:15: rule x: approval is only for effect approve",
        "policies/prod.yaml:10:11: rule x: mask is only for effect mask",
        "policies/prod.yaml:13:28: rule y: approval.reviewers: must list at least one entry",
        "policies/prod.yaml:13:47: rule y: approval.min_approvals: must be at least 1",
        'policies/prod.yaml:13:55: rule y: approval.ttl: must be a duration like "1h", "30m" or "1h30m"',
        "policies/prod.yaml:16:11: rule z: mask: a mask needs columns, detectors or both",
      ],
    );
  });

  it("rejects bad globs and malformed connection matches", () => {
    assert.deepEqual(
      messagesOf(`${header}  - id: g
    match:
      users: ["a b", "**@corp"]
      groups: ["[abc]"]
      connections: { names: ["pg-{a,b}"], labelz: { env: prod } }
    effect: allow
  - id: h
    match: { connections: "pg-prod" }
    effect: allow
  - id: i
    match: { connections: { labels: { tier: 1 } } }
    effect: allow
  - id: j
    match: { connections: [] }
    effect: allow
`),
      [
        'policies/prod.yaml:5:15: rule g: users: glob "a b" contains " "; only "*" and "?" are wildcards',
        'policies/prod.yaml:5:22: rule g: users: glob "**@corp" has "**"; a single "*" already matches any run',
        'policies/prod.yaml:6:16: rule g: groups: glob "[abc]" contains "["; only "*" and "?" are wildcards',
        "policies/prod.yaml:7:43: rule g: unknown field match.connections.labelz",
        "policies/prod.yaml:10:27: rule h: connections is a list of names and globs, or {names, labels}",
        "policies/prod.yaml:13:45: rule i: connections.labels.tier: label values are strings (quote numbers and booleans)",
        "policies/prod.yaml:16:27: rule j: connections: must list at least one entry",
      ],
    );
  });

  it("reports every problem at once as SLUICE_POLICY_INVALID", () => {
    try {
      compilePolicyBundle(
        [
          { path: "a.yaml", text: `${header}  - id: a\n    effect: maybe\n` },
          { path: "b.yaml", text: `${header}  - id: b\n    when: sql.kindz == 1\n    effect: deny\n` },
        ],
        { timeZone: "Mars/Olympus" },
      );
      assert.fail("expected an error");
    } catch (error) {
      assert.ok(error instanceof PolicyError);
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, ErrorCodes.policyInvalid);
      assert.equal(error.diagnostics.length, 3);
      assert.match(error.message, /policy bundle is invalid \(3 problems\)/);
      assert.match(error.message, /\(options\): unknown time zone "Mars\/Olympus"/);
      assert.match(error.message, /a\.yaml:4:13: rule a: effect: must be one of/);
      assert.match(
        error.message,
        /b\.yaml:4:15: rule b: unknown field sql\.kindz \(did you mean sql\.kinds\?\)/,
      );
    }
  });
});

describe("when conditions at compile time", () => {
  const whenProblems = (when: string) =>
    messagesOf(`${header}  - id: c\n    when: ${when}\n    effect: deny\n`);

  it("unknown fields are errors with file:line:column and rule id", () => {
    assert.deepEqual(
      messagesOf(`${header}  - id: no-drop-in-prod
    match: { protocols: [postgres] }
    when: '"drop" in sql.kindz'
    effect: deny
`),
      ["policies/prod.yaml:5:26: rule no-drop-in-prod: unknown field sql.kindz (did you mean sql.kinds?)"],
    );
    assert.deepEqual(whenProblems("'principal.on_behalf_of.usr == \"x\"'"), [
      "policies/prod.yaml:4:35: rule c: unknown field principal.on_behalf_of.usr (did you mean principal.on_behalf_of.user?)",
    ]);
    assert.deepEqual(whenProblems(`'time["hours"] > 3'`), [
      "policies/prod.yaml:4:17: rule c: unknown field time.hours (did you mean time.hour?)",
    ]);
    assert.deepEqual(whenProblems("'k8s.whatever'"), [
      "policies/prod.yaml:4:16: rule c: unknown field k8s.whatever",
    ]);
  });

  it("positions errors inside block scalars and double-quoted strings", () => {
    assert.deepEqual(
      messagesOf(`${header}  - id: c
    when: |
      sql.parsed &&
        sql.kindz.size() > 0
    effect: deny
  - id: d
    when: "sql.parsed && \\"x\\" in sql.tablez"
    effect: deny
`),
      [
        "policies/prod.yaml:6:13: rule c: unknown field sql.kindz (did you mean sql.kinds?)",
        "policies/prod.yaml:9:39: rule d: unknown field sql.tablez (did you mean sql.tables?)",
      ],
    );
  });

  it("map facts accept any key and comprehension variables are not facts", () => {
    compilePolicyBundle([
      {
        path: "ok.yaml",
        text: `${header}  - id: ok
    when: >-
      connection.labels.env == "prod" && http.headers["x-team"] == "a" &&
      sql.kinds.exists(sql, sql == "select") && cel.bind(k, sql.kinds, "drop" in k) == false
    effect: allow
`,
      },
    ]);
  });

  it("syntax errors", () => {
    const [message] = whenProblems("'sql.parsed &&'");
    assert.match(message ?? "", /^policies\/prod\.yaml:4:\d+: rule c: syntax error: /);
  });

  it("type errors and non-bool results", () => {
    assert.deepEqual(whenProblems("sql.statements"), [
      "policies/prod.yaml:4:11: rule c: when must be a bool expression, got int",
    ]);
    assert.deepEqual(whenProblems("'mcp.arguments[\"x\"]'"), [
      "policies/prod.yaml:4:12: rule c: when must be a bool expression, got dyn",
    ]);
    const [typeError] = whenProblems("'sql.statements + \"x\" == 1'");
    assert.match(typeError ?? "", /^policies\/prod\.yaml:4:\d+: rule c: type error: /);
    const [unknownVariable] = whenProblems("'user == \"x\"'");
    assert.match(unknownVariable ?? "", /type error: Unknown variable: user/);
  });

  it("rejects matches() in every form and points to re2()", () => {
    const expected = "matches() uses a backtracking regex engine and is not allowed; use re2(text, pattern)";
    assert.deepEqual(whenProblems(`'principal.user.matches("^a")'`), [
      `policies/prod.yaml:4:27: rule c: ${expected}`,
    ]);
    assert.deepEqual(whenProblems(`'matches(principal.user, "^a")'`), [
      `policies/prod.yaml:4:12: rule c: ${expected}`,
    ]);
    compilePolicyBundle([
      {
        path: "ok.yaml",
        text: `${header}  - id: ok\n    when: 're2(principal.user, "^a")'\n    effect: allow\n`,
      },
    ]);
  });

  it("validates literal re2 patterns", () => {
    const [message] = whenProblems(`'re2(principal.user, "(unclosed")'`);
    assert.match(message ?? "", /^policies\/prod\.yaml:4:32: rule c: invalid re2 pattern: /);
  });

  it("validates reason placeholders", () => {
    assert.deepEqual(
      messagesOf(`${header}  - id: r
    effect: deny
    reason: "no {{connection.nam}} or {{}} but {{connection.labels.anything}}"
`),
      [
        "policies/prod.yaml:5:17: rule r: unknown field {{connection.nam}} in reason",
        "policies/prod.yaml:5:39: rule r: unknown field {{}} in reason",
      ],
    );
  });
});

describe("bundle hash", () => {
  const files: PolicyFile[] = [
    { path: "b.yaml", text: `${header}  - id: b\n    effect: allow\n` },
    { path: "a.yaml", text: `${header}  - id: a\n    effect: deny\n` },
  ];

  it("is stable and independent of input order", () => {
    const one = compilePolicyBundle(files).version;
    assert.equal(compilePolicyBundle([...files].reverse()).version, one);
    assert.equal(bundleHash(files), one);
    assert.match(one, /^sha256:[0-9a-f]{64}$/);
  });

  it("changes with content and with paths", () => {
    const one = bundleHash(files);
    assert.notEqual(
      bundleHash([files[0] as PolicyFile, { path: "a.yaml", text: `${files[1]?.text}# comment\n` }]),
      one,
    );
    assert.notEqual(
      bundleHash([files[0] as PolicyFile, { path: "c.yaml", text: files[1]?.text ?? "" }]),
      one,
    );
    // Moving text across the path/content boundary changes the hash.
    assert.notEqual(bundleHash([{ path: "ab", text: "c" }]), bundleHash([{ path: "a", text: "bc" }]));
  });

  it("carries the git commit separately", () => {
    const bundle = compilePolicyBundle(files, { gitCommit: "a".repeat(40) });
    assert.equal(bundle.gitCommit, "a".repeat(40));
    assert.equal(bundle.version, bundleHash(files));
    assert.equal(compilePolicyBundle(files).gitCommit, undefined);
  });

  it("records the git commit on every decision as policyCommit", () => {
    const decision = compilePolicyBundle(files, { gitCommit: "b".repeat(40) }).decide(sqlAction());
    assert.equal(decision.policyVersion, bundleHash(files));
    assert.equal(decision.policyCommit, "b".repeat(40));
    assert.equal("policyCommit" in compilePolicyBundle(files).decide(sqlAction()), false);
  });
});
