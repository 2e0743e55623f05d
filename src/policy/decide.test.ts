import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Action, Decider, Principal } from "../core/index.ts";
import { compilePolicyBundle } from "./compile.ts";
import { PolicyEngine } from "./engine.ts";
import { alice, bundleOf, FIXED_CLOCK, pgProd, sqlAction } from "./test-support.ts";

const ALLOW_ALL = `
  - id: allow-all
    effect: allow
`;
const APPROVE_ALL = `
  - id: approve-all
    effect: approve
    approval: { reviewers: [dba], min_approvals: 1, ttl: 2h }
`;
const DENY_ALL = `
  - id: deny-all
    effect: deny
`;

describe("combination", () => {
  it("deny beats approve and allow", () => {
    const d = bundleOf(ALLOW_ALL + APPROVE_ALL + DENY_ALL).decide(sqlAction());
    assert.equal(d.effect, "deny");
    assert.equal(d.reasonCode, "rule-denied");
    assert.equal(d.reason, "denied by rule deny-all");
    assert.deepEqual(d.ruleIds, ["deny-all"]);
  });

  it("approve beats allow", () => {
    const d = bundleOf(ALLOW_ALL + APPROVE_ALL).decide(sqlAction());
    assert.equal(d.effect, "approve");
    assert.equal(d.reasonCode, "approval-required");
    assert.deepEqual(d.ruleIds, ["approve-all"]);
    assert.deepEqual(d.approval, { reviewers: ["dba"], minApprovals: 1, ttlSeconds: 7200 });
  });

  it("allow when only allow rules apply", () => {
    const bundle = bundleOf(ALLOW_ALL);
    const d = bundle.decide(sqlAction());
    assert.deepEqual(d, {
      effect: "allow",
      reasonCode: "rule-allowed",
      reason: "allowed by rule allow-all",
      ruleIds: ["allow-all"],
      policyVersion: bundle.version,
    });
  });

  it("denies with no-rule-allowed when nothing applies", () => {
    const empty = compilePolicyBundle([{ path: "empty.yaml", text: "apiVersion: sluice/v1\nrules: []\n" }]);
    for (const bundle of [bundleOf(""), empty, compilePolicyBundle([])]) {
      const d = bundle.decide(sqlAction());
      assert.deepEqual(d, {
        effect: "deny",
        reasonCode: "no-rule-allowed",
        reason: "no policy rule allows this action",
        ruleIds: [],
        policyVersion: bundle.version,
      });
    }
  });

  it("ruleIds lists every applicable rule of the winning effect in bundle order", () => {
    const bundle = bundleOf(`
  - id: b-allow
    effect: allow
  - id: a-deny
    effect: deny
    reason: first denial
  - id: c-allow
    effect: allow
  - id: b-deny
    effect: deny
    reason: second denial
`);
    const d = bundle.decide(sqlAction());
    assert.deepEqual(d.ruleIds, ["a-deny", "b-deny"]);
    assert.equal(d.reason, "first denial");
    const allowed = bundleOf(`
  - id: z-allow
    effect: allow
  - id: a-allow
    effect: allow
`).decide(sqlAction());
    assert.deepEqual(allowed.ruleIds, ["z-allow", "a-allow"]);
  });

  it("merges approvals: all reviewers, the largest quorum, the shortest ttl", () => {
    const d = bundleOf(`
  - id: approve-a
    effect: approve
    approval: { reviewers: [dba, security], min_approvals: 1, ttl: 2h }
    reason: needs a DBA
  - id: approve-b
    effect: approve
    approval: { reviewers: [security, leads], min_approvals: 2, ttl: 30m }
  - id: approve-c
    effect: approve
    approval: { reviewers: [dba] }
`).decide(sqlAction());
    assert.equal(d.effect, "approve");
    assert.equal(d.reason, "needs a DBA");
    assert.deepEqual(d.ruleIds, ["approve-a", "approve-b", "approve-c"]);
    assert.deepEqual(d.approval, {
      reviewers: ["dba", "security", "leads"],
      minApprovals: 2,
      ttlSeconds: 1800,
    });
  });

  it("policyVersion is the bundle hash", () => {
    const bundle = bundleOf(ALLOW_ALL);
    assert.match(bundle.version, /^sha256:[0-9a-f]{64}$/);
    assert.equal(bundle.decide(sqlAction()).policyVersion, bundle.version);
  });
});

describe("mask rules", () => {
  const MASK = `
  - id: mask-email
    effect: mask
    mask: { columns: [customers.email], detectors: [email], strategy: hash }
  - id: mask-phone
    effect: mask
    mask: { columns: ["*.phone"] }
`;

  it("never grant access on their own", () => {
    const d = bundleOf(MASK).decide(sqlAction());
    assert.equal(d.effect, "deny");
    assert.equal(d.reasonCode, "no-rule-allowed");
    assert.deepEqual(d.ruleIds, []);
  });

  it("are all collected into an allowed decision", () => {
    const d = bundleOf(ALLOW_ALL + MASK).decide(sqlAction());
    assert.equal(d.effect, "allow");
    assert.deepEqual(d.ruleIds, ["allow-all"]);
    assert.deepEqual(d.masks, [
      { ruleId: "mask-email", columns: ["customers.email"], detectors: ["email"], strategy: "hash" },
      { ruleId: "mask-phone", columns: ["*.phone"], detectors: [], strategy: "redact" },
    ]);
  });

  it("only apply when their match and when apply", () => {
    const d = bundleOf(`${ALLOW_ALL}
  - id: mask-customers
    match: { connections: [pg-dev] }
    effect: mask
    mask: { columns: [customers.email] }
  - id: mask-users
    when: '"public.users" in sql.tables'
    effect: mask
    mask: { detectors: [email] }
`).decide(sqlAction());
    assert.deepEqual(
      d.masks?.map((m) => m.ruleId),
      ["mask-users"],
    );
  });
});

describe("shadow mode", () => {
  it("records a shadow deny that would have changed an allow, without enforcing it", () => {
    const d = bundleOf(`${ALLOW_ALL}
  - id: shadow-deny
    mode: shadow
    effect: deny
`).decide(sqlAction());
    assert.equal(d.effect, "allow");
    assert.deepEqual(d.ruleIds, ["allow-all"]);
    assert.deepEqual(d.shadowRuleIds, ["shadow-deny"]);
  });

  it("records a shadow allow that would have lifted a default deny", () => {
    const d = bundleOf(`
  - id: shadow-allow
    mode: shadow
    effect: allow
`).decide(sqlAction());
    assert.equal(d.effect, "deny");
    assert.equal(d.reasonCode, "no-rule-allowed");
    assert.deepEqual(d.shadowRuleIds, ["shadow-allow"]);
  });

  it("omits shadow rules that would not change the effect", () => {
    const d = bundleOf(`${ALLOW_ALL}
  - id: shadow-allow
    mode: shadow
    effect: allow
  - id: shadow-deny-other
    mode: shadow
    match: { connections: [pg-dev] }
    effect: deny
`).decide(sqlAction());
    assert.equal(d.effect, "allow");
    assert.equal(d.shadowRuleIds, undefined);
    const denied = bundleOf(`
  - id: shadow-deny
    mode: shadow
    effect: deny
`).decide(sqlAction());
    assert.equal(denied.shadowRuleIds, undefined);
  });

  it("records shadow approve over allow and shadow masks on allowed actions", () => {
    const d = bundleOf(`${ALLOW_ALL}
  - id: shadow-approve
    mode: shadow
    effect: approve
    approval: { reviewers: [dba] }
  - id: shadow-mask
    mode: shadow
    effect: mask
    mask: { detectors: [email] }
`).decide(sqlAction());
    assert.equal(d.effect, "allow");
    assert.equal(d.approval, undefined);
    assert.equal(d.masks, undefined);
    assert.deepEqual(d.shadowRuleIds, ["shadow-approve", "shadow-mask"]);
  });

  it("a failing shadow condition counts as a shadow deny only", () => {
    const d = bundleOf(`${ALLOW_ALL}
  - id: shadow-broken
    mode: shadow
    when: 'k8s.verb == "delete"'
    effect: allow
`).decide(sqlAction());
    assert.equal(d.effect, "allow");
    assert.deepEqual(d.shadowRuleIds, ["shadow-broken"]);
  });
});

describe("match", () => {
  const human = (user: string, groups: string[], kind: Principal["kind"] = "human"): Principal => ({
    user,
    groups,
    kind,
  });
  const allowIf = (match: string) =>
    bundleOf(`
  - id: r
    match: ${match}
    effect: allow
`);
  const allowed = (match: string, action: Action) => allowIf(match).decide(action).effect === "allow";

  it("absent match matches everything", () => {
    assert.equal(bundleOf(ALLOW_ALL).decide(sqlAction({}, { protocol: "ssh" })).effect, "allow");
  });

  it("by protocol", () => {
    assert.ok(allowed("{ protocols: [postgres, mysql] }", sqlAction()));
    assert.ok(!allowed("{ protocols: [ssh] }", sqlAction()));
    assert.ok(allowed("{ protocols: [ssh] }", sqlAction({}, { protocol: "ssh" })));
  });

  it("by connection name and glob", () => {
    const dev = { name: "pg-dev-eu", protocol: "postgres", labels: { env: "dev" } };
    assert.ok(allowed("{ connections: [pg-prod] }", sqlAction()));
    assert.ok(!allowed("{ connections: [pg-prod] }", sqlAction({}, { connection: dev })));
    assert.ok(allowed('{ connections: ["pg-dev-*"] }', sqlAction({}, { connection: dev })));
    assert.ok(allowed('{ connections: ["pg-???-eu"] }', sqlAction({}, { connection: dev })));
    assert.ok(!allowed('{ connections: ["pg-dev-*"] }', sqlAction()));
  });

  it("by connection labels (all required), OR'ed names", () => {
    const eu = { name: "pg-eu", protocol: "postgres", labels: { env: "prod", region: "eu" } };
    assert.ok(allowed("{ connections: { labels: { env: prod } } }", sqlAction()));
    assert.ok(
      allowed("{ connections: { labels: { env: prod, region: eu } } }", sqlAction({}, { connection: eu })),
    );
    assert.ok(!allowed("{ connections: { labels: { env: prod, region: eu } } }", sqlAction()));
    assert.ok(allowed('{ connections: { names: [pg-prod, "pg-e*"] } }', sqlAction({}, { connection: eu })));
    assert.ok(
      !allowed(
        "{ connections: { names: [pg-eu], labels: { env: dev } } }",
        sqlAction({}, { connection: eu }),
      ),
    );
    assert.ok(!allowed("{ connections: { labels: { toString: x } } }", sqlAction()));
  });

  it("by group (any of), exact or glob", () => {
    const bob = human("bob@corp.example", ["analysts", "team-7"]);
    assert.ok(allowed("{ groups: [dba, analysts] }", sqlAction({}, { principal: bob })));
    assert.ok(!allowed("{ groups: [dba] }", sqlAction({}, { principal: bob })));
    assert.ok(allowed('{ groups: ["team-*"] }', sqlAction({}, { principal: bob })));
    assert.ok(!allowed("{ groups: [dba] }", sqlAction({}, { principal: human("x@corp.example", []) })));
  });

  it("by user, exact or glob", () => {
    assert.ok(allowed("{ users: [alice@corp.example] }", sqlAction()));
    assert.ok(allowed('{ users: ["*@corp.example"] }', sqlAction()));
    assert.ok(!allowed('{ users: ["*@other.example"] }', sqlAction()));
  });

  it("by principal kind", () => {
    const agent = human("agent-1", [], "agent");
    assert.ok(allowed("{ principal_kind: [human] }", sqlAction()));
    assert.ok(!allowed("{ principal_kind: [human, service] }", sqlAction({}, { principal: agent })));
    assert.ok(allowed("{ principal_kind: [agent] }", sqlAction({}, { principal: agent })));
  });

  it("every given key must match", () => {
    const match =
      "{ protocols: [postgres], connections: [pg-prod], groups: [engineers], users: [alice@corp.example] }";
    assert.ok(allowed(match, sqlAction()));
    assert.ok(!allowed(match, sqlAction({}, { principal: { ...alice, groups: ["analysts"] } })));
  });

  it("reuses per-session match results but honours new principals", () => {
    const bundle = allowIf("{ groups: [dba] }");
    const dba: Principal = { user: "d@corp.example", groups: ["dba"], kind: "human" };
    assert.equal(bundle.decide(sqlAction()).effect, "deny");
    assert.equal(bundle.decide(sqlAction({}, { principal: dba })).effect, "allow");
    assert.equal(bundle.decide(sqlAction()).effect, "deny");
  });
});

describe("when conditions", () => {
  it("apply only when true", () => {
    const bundle = bundleOf(`${ALLOW_ALL}
  - id: no-drop
    match: { protocols: [postgres] }
    when: '"drop" in sql.kinds || "truncate" in sql.kinds'
    effect: deny
`);
    assert.equal(bundle.decide(sqlAction()).effect, "allow");
    const d = bundle.decide(sqlAction({ kinds: ["drop"] }));
    assert.equal(d.effect, "deny");
    assert.deepEqual(d.ruleIds, ["no-drop"]);
  });

  it("fail closed: an evaluation error counts as a deny naming the rule", () => {
    const bundle = bundleOf(`${ALLOW_ALL}
  - id: needs-settings
    when: '"role" in sql.settings'
    effect: allow
`);
    const d = bundle.decide(sqlAction({ settings: undefined as never }));
    // sqlFacts spreads `settings: undefined`, i.e. the analyser did not provide the fact.
    assert.equal(d.effect, "deny");
    assert.equal(d.reasonCode, "policy-error");
    assert.deepEqual(d.ruleIds, ["needs-settings"]);
    assert.match(d.reason, /needs-settings/);
    assert.match(d.reason, /settings/);
  });

  it("fail closed on an absent namespace and on facts of the wrong type", () => {
    const bundle = bundleOf(`${ALLOW_ALL}
  - id: k8s-delete
    when: 'k8s.verb == "delete"'
    effect: deny
`);
    const d = bundle.decide(sqlAction());
    assert.equal(d.reasonCode, "policy-error");
    assert.deepEqual(d.ruleIds, ["k8s-delete"]);
    const wrong = bundleOf(`${ALLOW_ALL}
  - id: kinds
    when: '"drop" in sql.kinds'
    effect: deny
`).decide(sqlAction({ kinds: "drop" }));
    assert.equal(wrong.reasonCode, "policy-error");
  });

  it("prefers a rule's own denial over a failed condition", () => {
    const d = bundleOf(`
  - id: broken
    when: 'k8s.verb == "x"'
    effect: allow
  - id: no-select
    when: '"select" in sql.kinds'
    effect: deny
    reason: no selects
`).decide(sqlAction());
    assert.equal(d.reasonCode, "rule-denied");
    assert.equal(d.reason, "no selects");
    assert.deepEqual(d.ruleIds, ["broken", "no-select"]);
  });

  it("has() tests for optional facts without failing", () => {
    const bundle = bundleOf(`
  - id: r
    when: '!has(k8s.verb) && has(sql.kinds) && !has(sql.settings)'
    effect: allow
`);
    assert.equal(bundle.decide(sqlAction({ settings: undefined as never })).effect, "allow");
  });

  it("sees int facts as CEL ints and nullable facts as null", () => {
    const bundle = bundleOf(`
  - id: r
    when: 'sql.statements > 1 && sql.statements * 2 == 4 && sql.prepared_name == null'
    effect: allow
  - id: p
    when: 'sql.prepared_name == "stmt1"'
    effect: allow
`);
    assert.equal(bundle.decide(sqlAction({ statements: 2 })).effect, "allow");
    assert.equal(bundle.decide(sqlAction({ statements: 1 })).effect, "deny");
    assert.deepEqual(bundle.decide(sqlAction({ prepared_name: "stmt1" })).ruleIds, ["p"]);
  });

  it("reads principal, connection, action and time", () => {
    const bundle = bundleOf(
      `
  - id: r
    when: >-
      principal.user.endsWith("@corp.example") && "engineers" in principal.groups &&
      principal.kind == "human" && principal.on_behalf_of == null &&
      connection.name == "pg-prod" && connection.labels["env"] == "prod" && connection.protocol == "postgres" &&
      action.kind == "sql.statement" && action.protocol == "postgres" &&
      time.hour == 12 && time.minute == 30 && time.weekday == 1 && time.date == "2024-05-06"
    effect: allow
`,
      { timeZone: "Europe/Berlin" },
    );
    assert.equal(bundle.decide(sqlAction()).effect, "allow");
  });

  it("reads on_behalf_of for agents", () => {
    const bundle = bundleOf(`
  - id: r
    match: { principal_kind: [agent] }
    when: 'principal.on_behalf_of != null && principal.on_behalf_of.user == "bob@corp.example" && "dba" in principal.on_behalf_of.groups'
    effect: allow
`);
    const agent: Principal = {
      user: "agent-7",
      groups: [],
      kind: "agent",
      onBehalfOf: { user: "bob@corp.example", groups: ["dba"] },
    };
    assert.equal(bundle.decide(sqlAction({}, { principal: agent })).effect, "allow");
    assert.equal(
      bundle.decide(sqlAction({}, { principal: { ...agent, onBehalfOf: { user: "eve", groups: [] } } }))
        .effect,
      "deny",
    );
  });

  it("reads maps of other namespaces", () => {
    const bundle = bundleOf(`
  - id: r
    match: { protocols: [mcp] }
    when: 'mcp.tool == "query" && mcp.arguments["limit"] <= 100 && mcp.arguments["dry_run"] == true'
    effect: allow
`);
    const action = (args: Record<string, number | boolean>): Action => ({
      ...sqlAction({}, { protocol: "mcp" }),
      kind: "mcp.tool_call",
      facts: { mcp: { server: "db", tool: "query", arguments: args } },
    });
    assert.equal(bundle.decide(action({ limit: 50, dry_run: true })).effect, "allow");
    assert.equal(bundle.decide(action({ limit: 500, dry_run: true })).effect, "deny");
  });
});

describe("re2()", () => {
  const bundle = bundleOf(`
  - id: hr-tables
    when: 'sql.tables.exists(t, re2(t, "^(hr|payroll)\\\\."))'
    effect: deny
  - id: dynamic-pattern
    when: 're2(connection.name, connection.labels["pattern"])'
    effect: allow
`);
  const withPattern = (pattern: string) => ({ ...pgProd, labels: { env: "prod", pattern } });

  it("matches anywhere in the text, in linear time", () => {
    assert.equal(
      bundle.decide(sqlAction({ tables: ["hr.salaries"] }, { connection: withPattern("x") })).effect,
      "deny",
    );
    assert.equal(
      bundle.decide(sqlAction({ tables: ["public.hr"] }, { connection: withPattern("prod") })).effect,
      "allow",
    );
    const start = performance.now();
    const evil = bundle.decide(
      sqlAction(
        { tables: ["a".repeat(5000)] },
        { connection: { ...withPattern("(a+)+$"), name: `${"a".repeat(30)}!` } },
      ),
    );
    assert.equal(evil.reasonCode, "no-rule-allowed");
    assert.ok(performance.now() - start < 1000, "catastrophic backtracking");
  });

  it("an invalid pattern at run time fails closed", () => {
    const d = bundle.decide(sqlAction({}, { connection: withPattern("(unclosed") }));
    assert.equal(d.effect, "deny");
    assert.equal(d.reasonCode, "policy-error");
    assert.deepEqual(d.ruleIds, ["dynamic-pattern"]);
  });
});

describe("reasons", () => {
  it("interpolate facts", () => {
    const d = bundleOf(`
  - id: no-drop
    when: '"drop" in sql.kinds'
    effect: deny
    reason: "DROP is not allowed on {{connection.name}} ({{ connection.labels.env }}) for {{principal.user}}: {{sql.tables}} x{{sql.statements}} {{sql.prepared_name}}|{{time.date}}"
`).decide(sqlAction({ kinds: ["drop"], tables: ["a", "b"], statements: 2 }));
    assert.equal(
      d.reason,
      "DROP is not allowed on pg-prod (prod) for alice@corp.example: a, b x2 |2024-05-06",
    );
  });

  it("apply to approve and allow decisions too", () => {
    const bundle = bundleOf(`
  - id: ok
    match: { connections: [pg-dev] }
    effect: allow
    reason: "{{connection.name}} is a dev database"
  - id: ask
    match: { connections: [pg-prod] }
    effect: approve
    approval: { reviewers: [dba] }
    reason: "writes to {{connection.name}} need approval"
`);
    assert.equal(bundle.decide(sqlAction()).reason, "writes to pg-prod need approval");
    const dev = { name: "pg-dev", protocol: "postgres", labels: {} };
    assert.equal(bundle.decide(sqlAction({}, { connection: dev })).reason, "pg-dev is a dev database");
  });
});

describe("determinism", () => {
  const RULES = `
  - id: read
    when: 'sql.kinds.all(k, k == "select")'
    effect: allow
  - id: mask
    effect: mask
    mask: { detectors: [email] }
  - id: writes
    when: 'size(sql.writes) > 0'
    effect: approve
    approval: { reviewers: [dba, leads], min_approvals: 2 }
  - id: shadow
    mode: shadow
    when: 'time.hour < 6'
    effect: deny
`;
  const actions = [
    sqlAction(),
    sqlAction({ kinds: ["update"], writes: ["t"] }),
    sqlAction({ kinds: ["drop"] }),
    sqlAction({ kinds: 3 }),
  ];

  it("the same bundle and action always give the same decision", () => {
    const a = bundleOf(RULES);
    const b = bundleOf(RULES);
    for (const action of actions) {
      const first = a.decide(action);
      for (let i = 0; i < 5; i++) assert.deepEqual(a.decide(action), first);
      assert.deepEqual(b.decide(action), first);
      assert.deepEqual(a.explain(action).decision, first);
    }
  });

  it("decisions do not share mutable state", () => {
    const bundle = bundleOf(RULES);
    const d = bundle.decide(sqlAction());
    (d.ruleIds as string[]).push("tampered");
    assert.deepEqual(bundle.decide(sqlAction()).ruleIds, ["read"]);
  });
});

describe("explain", () => {
  it("lists every rule with matched, why-not and the decision", () => {
    const bundle = bundleOf(`
  - id: ssh-only
    match: { protocols: [ssh] }
    effect: allow
  - id: dba-only
    match: { groups: [dba] }
    effect: allow
  - id: drops
    when: '"drop" in sql.kinds'
    effect: deny
  - id: broken
    when: 'k8s.verb == "get"'
    effect: allow
  - id: read
    when: '"select" in sql.kinds'
    effect: allow
`);
    const explanation = bundle.explain(sqlAction());
    assert.deepEqual(explanation.decision, bundle.decide(sqlAction()));
    const byId = new Map(explanation.rules.map((r) => [r.id, r]));
    assert.deepEqual(
      explanation.rules.map((r) => r.id),
      ["ssh-only", "dba-only", "drops", "broken", "read"],
    );
    assert.equal(byId.get("ssh-only")?.matched, false);
    assert.match(byId.get("ssh-only")?.whyNot ?? "", /protocol postgres is not in \[ssh\]/);
    assert.match(byId.get("dba-only")?.whyNot ?? "", /none of the groups \[dba\]/);
    assert.equal(byId.get("drops")?.matched, true);
    assert.equal(byId.get("drops")?.condition, "false");
    assert.equal(byId.get("drops")?.applied, false);
    assert.equal(byId.get("broken")?.condition, "error");
    assert.equal(byId.get("broken")?.applied, true);
    assert.equal(byId.get("broken")?.deciding, true);
    assert.match(byId.get("broken")?.error ?? "", /verb/);
    assert.equal(byId.get("read")?.condition, "true");
    assert.equal(byId.get("read")?.deciding, false);
    assert.equal(explanation.decision.reasonCode, "policy-error");
    assert.equal(explanation.time, undefined);
  });

  it("explains connection and user mismatches and reports time when used", () => {
    const bundle = bundleOf(`
  - id: labels
    match: { connections: { labels: { env: dev } } }
    effect: allow
  - id: users
    match: { users: ["*@other.example"] }
    when: time.hour > 0
    effect: allow
`);
    const explanation = bundle.explain(sqlAction());
    assert.match(explanation.rules[0]?.whyNot ?? "", /label env=prod \(rule requires env=dev\)/);
    assert.match(explanation.rules[1]?.whyNot ?? "", /user alice@corp.example does not match/);
    assert.deepEqual(explanation.time, { hour: 10, minute: 30, weekday: 1, date: "2024-05-06" });
  });
});

describe("PolicyEngine", () => {
  it("is a Decider whose bundle can be swapped", () => {
    const first = bundleOf(DENY_ALL);
    const second = bundleOf(ALLOW_ALL);
    const engine = new PolicyEngine(first);
    const decider: Decider = engine;
    assert.equal(decider.version, first.version);
    assert.equal(decider.decide(sqlAction()).effect, "deny");
    assert.equal(engine.swap(second), first);
    assert.equal(engine.bundle, second);
    assert.equal(decider.version, second.version);
    assert.equal(decider.decide(sqlAction()).effect, "allow");
    assert.equal(engine.explain(sqlAction()).decision.effect, "allow");
  });

  it("never throws, even when the clock does", () => {
    const bundle = bundleOf(
      `
  - id: r
    when: time.hour > 1
    effect: allow
`,
      {
        clock: () => {
          throw new Error("clock broke");
        },
      },
    );
    const d = bundle.decide(sqlAction());
    assert.equal(d.effect, "deny");
    assert.equal(d.reasonCode, "policy-error");
    assert.ok(FIXED_CLOCK() instanceof Date);
  });
});
