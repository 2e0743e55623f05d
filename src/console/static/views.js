/** The console's pages. Each renders into `main` and may return a cleanup function. */
import { announce, api, navigate, onApprovalEvent } from "./app.js";
import { badge, copyable, field, h, relative, replace, table, time } from "./dom.js";

const EFFECT_KIND = { allow: "ok", deny: "bad", approve: "warn" };
const STATE_KIND = { pending: "warn", approved: "ok", used: "ok", denied: "bad", expired: "muted" };

function heading(text, ...rest) {
  return h("div", { class: "page-head" }, h("h1", { text }), ...rest);
}

function json(value) {
  return h("pre", { class: "json" }, h("code", { text: JSON.stringify(value, null, 2) }));
}

/** A value the gateway masked: shown as it was sent, marked so nobody mistakes it for data. */
function isMasked(value) {
  return value === "[MASKED]" || /^\*{2,}[^*]{0,4}$/u.test(value) || /^h:[0-9a-f]{8,64}$/.test(value);
}

function cell(value) {
  if (value === null) return h("td", { class: "null" }, h("span", { text: "NULL" }));
  if (isMasked(value)) {
    return h(
      "td",
      { class: "masked", title: "masked by policy" },
      h("span", { class: "mask-flag", "aria-hidden": "true", text: "masked" }),
      h("span", { class: "visually-hidden", text: "masked value: " }),
      value,
    );
  }
  return h("td", { text: value });
}

function formValues(form) {
  return Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, String(v).trim()]));
}

function input(name, attrs = {}) {
  return h("input", { name, id: `in-${name}`, ...attrs });
}

function select(name, options, selected) {
  return h(
    "select",
    { name, id: `in-${name}` },
    options.map(([value, label]) =>
      h("option", { value, selected: value === selected ? true : undefined, text: label }),
    ),
  );
}

/* Connections */

async function connections({ main }) {
  const { connections: list } = await api("/console/api/connections");
  replace(
    main,
    heading(
      "Connections",
      h("p", {
        class: "lede",
        text: "What you may reach through this gateway, and how. Every command is still decided by the policy when you run it.",
      }),
    ),
    list.length === 0
      ? h("p", { class: "empty", text: "No policy rule lets you reach any connection." })
      : h(
          "ul",
          { class: "cards" },
          list.map((c) =>
            h(
              "li",
              { class: "card" },
              h(
                "h2",
                {},
                c.name,
                " ",
                badge(c.protocol, "muted"),
                c.reachable ? null : badge("no rule allows you", "bad"),
              ),
              h(
                "p",
                { class: "labels" },
                Object.entries(c.labels).map(([k, v]) => h("span", { class: "label", text: `${k}=${v}` })),
              ),
              c.masks.length > 0
                ? h(
                    "p",
                    { class: "hint" },
                    "Results are masked: ",
                    c.masks
                      .map((m) => `${[...m.columns, ...m.detectors].join(", ")} (${m.strategy})`)
                      .join("; "),
                  )
                : null,
              c.commands.map((cmd) =>
                h(
                  "div",
                  {},
                  h("h3", { text: cmd.label }),
                  copyable(cmd.command, `${cmd.label} command for ${c.name}`),
                ),
              ),
            ),
          ),
        ),
  );
}

/* Approvals */

function requestCard(request, onVote) {
  const id = `req-${request.id}`;
  const reason = h("textarea", { name: "reason", rows: "2", id: `${id}-reason` });
  const status = h("p", { class: "vote-status", role: "status" });
  const vote = async (decision) => {
    const text = reason.value.trim();
    if (decision === "deny" && text === "") {
      status.textContent = "A denial needs a reason.";
      reason.focus();
      return;
    }
    status.textContent = decision === "approve" ? "Approving…" : "Denying…";
    try {
      const updated = await api(`/api/approvals/${request.id}/${decision}`, {
        method: "POST",
        body: text === "" ? {} : { reason: text },
      });
      status.textContent = `Request ${updated.state}.`;
      announce(`Request ${updated.state}.`);
      onVote();
    } catch (error) {
      status.textContent = error.message;
    }
  };
  const requester = request.requester;
  return h(
    "article",
    { class: "card request", id, "aria-labelledby": `${id}-title`, "data-request": request.id },
    h(
      "h3",
      { id: `${id}-title` },
      request.kind === "grant" ? "Grant request" : "Held command",
      " ",
      badge(request.state, STATE_KIND[request.state] ?? "muted"),
      " on ",
      h("strong", { text: request.connection }),
    ),
    request.command === undefined
      ? null
      : h("pre", { class: "command" }, h("code", { text: request.command })),
    h(
      "dl",
      { class: "facts" },
      h("dt", { text: "Requester" }),
      h(
        "dd",
        {},
        requester.user,
        requester.onBehalfOf ? ` (agent acting for ${requester.onBehalfOf.user})` : "",
        h("span", {
          class: "muted",
          text: ` · ${requester.kind} · ${requester.groups.join(", ") || "no groups"}`,
        }),
      ),
      request.groups
        ? [
            h("dt", { text: "Groups asked" }),
            h("dd", {
              text: `${request.groups.join(", ")} for ${Math.round(request.duration_seconds / 60)} min`,
            }),
          ]
        : null,
      request.reason ? [h("dt", { text: "Reason" }), h("dd", { text: request.reason })] : null,
      h("dt", { text: "Rule" }),
      h("dd", { text: request.rule_ids.join(", ") || "—" }),
      h("dt", { text: "Reviewers" }),
      h("dd", {
        text: `${request.reviewers.join(", ")} · ${request.approvals} of ${request.min_approvals} approvals`,
      }),
      h("dt", { text: "Asked" }),
      h("dd", {}, time(request.created_at)),
      h("dt", { text: request.state === "pending" ? "Expires" : "Valid until" }),
      h(
        "dd",
        {},
        time(request.state === "pending" ? request.expires_at : request.valid_until),
        request.state === "pending"
          ? h("span", { class: "muted", text: ` (${relative(request.expires_at)})` })
          : null,
      ),
      request.votes.length > 0
        ? [
            h("dt", { text: "Votes" }),
            h(
              "dd",
              {},
              h(
                "ul",
                { class: "plain" },
                request.votes.map((v) =>
                  h("li", { text: `${v.decision} by ${v.reviewer}${v.reason ? `: ${v.reason}` : ""}` }),
                ),
              ),
            ),
          ]
        : null,
      request.command_hash
        ? [
            h("dt", { text: "Command hash" }),
            h("dd", {}, h("code", { class: "hash", text: request.command_hash })),
          ]
        : null,
    ),
    request.facts === undefined
      ? null
      : h("details", {}, h("summary", { text: "Facts the policy decided on" }), json(request.facts)),
    request.can_review
      ? h(
          "form",
          { class: "vote", onsubmit: (event) => event.preventDefault() },
          field("Reason (required to deny)", reason),
          h(
            "div",
            { class: "actions" },
            h("button", {
              type: "button",
              class: "approve",
              onclick: () => vote("approve"),
              text: "Approve",
            }),
            h("button", { type: "button", class: "deny", onclick: () => vote("deny"), text: "Deny" }),
          ),
          status,
        )
      : null,
  );
}

async function approvals({ main, args }) {
  if (args[0]) return approvalDetail(main, args[0]);
  const inbox = h("div", { class: "inbox", id: "review-list" });
  const mineBody = h("div", { id: "my-requests" });
  const cards = new Map();
  const load = async () => {
    const [review, mine] = await Promise.all([
      api("/api/approvals?view=review"),
      api("/api/approvals?view=mine"),
    ]);
    const pending = review.approvals.filter((r) => r.state === "pending");
    // Keep cards already shown (a reason being typed stays), add new ones first, drop resolved ones.
    for (const [id, el] of cards) {
      if (!pending.some((r) => r.id === id)) {
        el.remove();
        cards.delete(id);
      }
    }
    for (const request of pending) {
      if (cards.has(request.id)) continue;
      const card = requestCard(request, () => void load());
      cards.set(request.id, card);
      inbox.prepend(card);
    }
    const empty = inbox.querySelector(".empty");
    if (cards.size === 0 && !empty)
      inbox.append(h("p", { class: "empty", text: "Nothing waits for your review." }));
    if (cards.size > 0 && empty) empty.remove();
    replace(
      mineBody,
      mine.approvals.length === 0
        ? h("p", { class: "empty", text: "You have not asked for anything." })
        : table(
            "My requests",
            ["Asked", "What", "Connection", "State", "Until"],
            mine.approvals.map((r) =>
              h(
                "tr",
                {},
                h("td", {}, time(r.created_at)),
                h(
                  "td",
                  {},
                  h(
                    "a",
                    { href: `/console/approvals/${r.id}` },
                    h("code", { text: r.command ?? `groups ${r.groups?.join(", ")}` }),
                  ),
                ),
                h("td", { text: r.connection }),
                h("td", {}, badge(r.state, STATE_KIND[r.state] ?? "muted")),
                h("td", {}, time(r.state === "pending" ? r.expires_at : r.valid_until)),
              ),
            ),
          ),
    );
    return pending;
  };
  replace(
    main,
    heading(
      "Approvals",
      h("p", { class: "lede", text: "Requests wait here for your review and appear as they arrive." }),
    ),
    h(
      "section",
      { "aria-labelledby": "review-title" },
      h("h2", { id: "review-title", text: "Waiting for my review" }),
      inbox,
    ),
    h(
      "section",
      { "aria-labelledby": "mine-title" },
      h("h2", { id: "mine-title", text: "My requests" }),
      mineBody,
    ),
  );
  await load();
  return onApprovalEvent(async (event) => {
    const before = new Set(cards.keys());
    const pending = await load();
    const fresh = pending.filter((r) => !before.has(r.id));
    if (fresh.length > 0) announce(`New request from ${fresh[0].requester.user} on ${fresh[0].connection}.`);
    else if (event.state && event.state !== "pending") announce(`A request was ${event.state}.`);
  });
}

async function approvalDetail(main, id) {
  const load = async () => {
    const request = await api(`/api/approvals/${encodeURIComponent(id)}`);
    replace(
      main,
      heading(
        "Approval request",
        h("p", {}, h("a", { href: "/console/approvals", text: "← All approvals" })),
      ),
      requestCard(request, () => void load()),
    );
  };
  await load();
  return onApprovalEvent((event) => {
    if (event.id === id || event.resync) void load();
  });
}

/* Sessions */

async function sessions({ main, me, args, params }) {
  if (args[0]) return replay(main, args[0]);
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter sessions" },
    me.privileged
      ? field("User", input("user", { value: params.get("user") ?? "", autocomplete: "off" }))
      : null,
    field("Connection", input("connection", { value: params.get("connection") ?? "" })),
    field("Since", input("since", { value: params.get("since") ?? "", placeholder: "7d or 2026-01-31" })),
    field(
      "Status",
      select(
        "status",
        [
          ["", "any"],
          ["sealed", "sealed"],
          ["unsealed", "unsealed (live)"],
          ["broken", "broken"],
        ],
        params.get("status") ?? "",
      ),
    ),
    h("div", { class: "actions" }, h("button", { type: "submit", text: "Search" })),
  );
  const results = h("div", { id: "session-results", "aria-live": "polite" });
  const search = async () => {
    const query = new URLSearchParams(Object.entries(formValues(form)).filter(([, v]) => v !== ""));
    history.replaceState(null, "", `/console/sessions${query.size ? `?${query}` : ""}`);
    const { sessions: list, recording } = await api(`/console/api/sessions?${query}`);
    replace(
      results,
      !recording
        ? h("p", { class: "empty", text: "Session recording is off on this gateway." })
        : list.length === 0
          ? h("p", { class: "empty", text: "No sessions match." })
          : table(
              "Sessions",
              ["Started", "User", "Connection", "Statements", "Status", ""],
              list.map((s) =>
                h(
                  "tr",
                  {},
                  h("td", {}, time(s.startedAt)),
                  h("td", { text: s.user ?? "—" }),
                  h("td", {}, s.connection ?? "—", " ", badge(s.protocol ?? "?", "muted")),
                  h("td", { class: "num", text: String(s.statements) }),
                  h("td", {}, statusBadge(s)),
                  h(
                    "td",
                    {},
                    h("a", {
                      href: `/console/sessions/${s.id}`,
                      "aria-label": `Replay session ${s.id} of ${s.user}`,
                      text: "Replay",
                    }),
                  ),
                ),
              ),
            ),
    );
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void search();
  });
  replace(
    main,
    heading(
      "Sessions",
      h("p", { class: "lede", text: me.privileged ? "Every recorded session." : "Your recorded sessions." }),
    ),
    form,
    results,
  );
  await search();
}

function statusBadge(s) {
  if (s.status === "broken") return badge("broken", "bad");
  if (s.status === "unsealed") return badge("live or unsealed", "warn");
  return badge(s.seal === "verified" ? "sealed · verified" : "sealed", "ok");
}

async function loadPlayer() {
  if (window.AsciinemaPlayer) return window.AsciinemaPlayer;
  document.head.append(h("link", { rel: "stylesheet", href: "/console/vendor/asciinema-player.css" }));
  await new Promise((resolve, reject) => {
    document.head.append(
      h("script", { src: "/console/vendor/asciinema-player.min.js", onload: resolve, onerror: reject }),
    );
  });
  return window.AsciinemaPlayer;
}

async function replay(main, id) {
  const { session: s, timeline } = await api(`/console/api/sessions/${encodeURIComponent(id)}`);
  const player = s.terminal
    ? h("div", { class: "player", id: "player", "aria-label": "Terminal recording player" })
    : null;
  const items = [];
  for (const entry of timeline) {
    const at = h("span", { class: "offset", text: `+${(entry.t / 1000).toFixed(3)}s` });
    if (entry.type === "statement") {
      items.push(
        h(
          "li",
          { class: `statement effect-${entry.effect}` },
          h(
            "div",
            { class: "line" },
            at,
            badge(entry.effect.toUpperCase(), EFFECT_KIND[entry.effect] ?? "muted"),
            entry.rule_ids.length ? h("span", { class: "rules", text: entry.rule_ids.join(", ") }) : null,
          ),
          h("pre", { class: "command" }, h("code", { text: entry.text })),
          entry.effect === "allow" ? null : h("p", { class: "reason", text: entry.reason }),
        ),
      );
    } else if (entry.type === "result") {
      const last = items.at(-1);
      const body = h(
        "div",
        { class: "result" },
        entry.error
          ? h("p", { class: "result-error", text: `ERROR ${entry.error.code}: ${entry.error.message}` })
          : h("p", { class: "muted", text: `${entry.command_tag ?? ""} · ${entry.duration_ms} ms` }),
        entry.columns
          ? table(
              `Result of the statement at +${(entry.t / 1000).toFixed(3)}s`,
              entry.columns,
              entry.rows.map((row) => h("tr", {}, row.map(cell))),
              { class: "result-table" },
            )
          : null,
        entry.rows_omitted > 0
          ? h("p", { class: "hint", text: `${entry.rows_omitted} more rows not recorded (cap)` })
          : null,
      );
      if (last) last.append(body);
      else items.push(h("li", {}, body));
    } else if (entry.type === "truncated") {
      items.push(
        h("li", { class: "meta" }, at, ` recording truncated (${entry.reason}, limit ${entry.limit})`),
      );
    } else if (entry.type === "end") {
      items.push(h("li", { class: "meta" }, at, ` session ended: ${entry.reason}`));
    } else if (entry.type === "terminal") {
      items.push(h("li", { class: "meta" }, at, ` ${entry.bytes} bytes of terminal data (see the player)`));
    }
  }
  replace(
    main,
    heading(`Session ${s.id}`, h("p", {}, h("a", { href: "/console/sessions", text: "← All sessions" }))),
    h(
      "dl",
      { class: "facts summary" },
      h("dt", { text: "User" }),
      h("dd", { text: `${s.user ?? "—"}${s.onBehalfOf ? ` (for ${s.onBehalfOf})` : ""}` }),
      h("dt", { text: "Connection" }),
      h("dd", { text: `${s.connection ?? "—"} (${s.protocol ?? "?"})` }),
      h("dt", { text: "Started" }),
      h("dd", {}, time(s.startedAt)),
      h("dt", { text: "Ended" }),
      h("dd", {}, time(s.endedAt), s.endReason ? ` · ${s.endReason}` : ""),
      h("dt", { text: "Recording" }),
      h("dd", {}, statusBadge(s), ` ${s.description}`),
    ),
    h(
      "p",
      {},
      h("a", {
        href: `/console/api/sessions/${encodeURIComponent(s.id)}/asciicast`,
        download: `sluice-${s.id}.cast`,
        text: "Download as asciicast",
      }),
    ),
    player
      ? h(
          "section",
          { "aria-labelledby": "player-title" },
          h("h2", { id: "player-title", text: "Terminal" }),
          player,
        )
      : null,
    h(
      "section",
      { "aria-labelledby": "timeline-title" },
      h("h2", { id: "timeline-title", text: "Timeline" }),
      items.length
        ? h("ol", { class: "timeline" }, items)
        : h("p", { class: "empty", text: "No statements recorded." }),
    ),
  );
  if (player) {
    const AsciinemaPlayer = await loadPlayer();
    const instance = AsciinemaPlayer.create(
      `/console/api/sessions/${encodeURIComponent(s.id)}/asciicast`,
      player,
      { fit: "width", controls: true, preload: true },
    );
    return () => instance.dispose?.();
  }
}

/* Audit */

function summary(event) {
  const d = event.data ?? {};
  const text = d.action?.text ?? d.command ?? d.text;
  const reason = d.decision?.reason ?? d.reason;
  return [
    text ? h("code", { text: String(text).slice(0, 200) }) : null,
    reason && event.effect !== "allow" ? h("span", { class: "muted", text: ` ${reason}` }) : null,
  ];
}

async function audit({ main, params }) {
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Search the audit trail" },
    field("User", input("user", { value: params.get("user") ?? "" })),
    field("Connection", input("connection", { value: params.get("connection") ?? "" })),
    field(
      "Decision",
      select(
        "effect",
        [
          ["", "any"],
          ["allow", "allow"],
          ["deny", "deny"],
          ["approve", "approve"],
        ],
        params.get("effect") ?? "",
      ),
    ),
    field("Event type", input("type", { value: params.get("type") ?? "", placeholder: "action.denied" })),
    field("Since", input("since", { value: params.get("since") ?? "", placeholder: "24h" })),
    field("Limit", input("limit", { value: params.get("limit") ?? "100", inputmode: "numeric" })),
    h("div", { class: "actions" }, h("button", { type: "submit", text: "Search" })),
  );
  const chain = h(
    "div",
    { class: "chain", id: "chain-status", "aria-live": "polite" },
    h("p", { class: "muted", text: "Verifying the chain…" }),
  );
  const exportLink = h("a", {
    class: "button secondary",
    href: "/console/api/audit/export",
    download: "sluice-audit.jsonl",
    text: "Export (JSON lines)",
  });
  const results = h("div", { id: "audit-results", "aria-live": "polite" });
  const verify = async () => {
    replace(chain, h("p", { class: "muted", text: "Verifying the chain…" }));
    const { report, checked_at } = await api("/console/api/audit/verify");
    replace(
      chain,
      h(
        "p",
        { class: report.ok ? "chain-ok" : "chain-bad" },
        badge(report.ok ? "chain OK" : "chain BROKEN", report.ok ? "ok" : "bad"),
        ` ${report.events} events`,
        report.head ? `, head ${report.head.seq}:${report.head.hash.slice(0, 16)}…` : "",
        `, ${report.checkpoints.verified} signed checkpoints verified`,
        h("span", { class: "muted" }, " · checked ", time(checked_at)),
      ),
      report.problems.length
        ? h(
            "ul",
            {},
            report.problems.map((p) => h("li", { text: `${p.kind} at ${p.seq}: ${p.message}` })),
          )
        : null,
      h("button", {
        type: "button",
        class: "secondary small",
        onclick: () => void verify(),
        text: "Verify again",
      }),
    );
  };
  const search = async () => {
    const values = formValues(form);
    const query = new URLSearchParams(Object.entries(values).filter(([, v]) => v !== ""));
    history.replaceState(null, "", `/console/audit${query.size ? `?${query}` : ""}`);
    exportLink.href = `/console/api/audit/export${values.since ? `?since=${encodeURIComponent(values.since)}` : ""}`;
    const { events } = await api(`/console/api/audit?${query}`);
    replace(
      results,
      events.length === 0
        ? h("p", { class: "empty", text: "No events match." })
        : table(
            "Audit events",
            ["Seq", "Time", "Type", "User", "Connection", "Decision", "What"],
            events.map((e) =>
              h(
                "tr",
                {},
                h("td", { class: "num", text: String(e.seq) }),
                h("td", {}, time(e.time)),
                h("td", {}, h("code", { text: e.type })),
                h("td", { text: e.user ?? "—" }),
                h("td", { text: e.connection ?? "—" }),
                h("td", {}, e.effect ? badge(e.effect, EFFECT_KIND[e.effect] ?? "muted") : "—"),
                h("td", {}, summary(e)),
              ),
            ),
          ),
    );
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void search();
  });
  replace(
    main,
    heading(
      "Audit trail",
      h("p", {
        class: "lede",
        text: "Every decision, written before anything was forwarded, in one hash chain.",
      }),
    ),
    h(
      "section",
      { "aria-labelledby": "chain-title", class: "card" },
      h("h2", { id: "chain-title", text: "Chain verification" }),
      chain,
      exportLink,
    ),
    form,
    results,
  );
  await Promise.all([search(), verify()]);
}

/* Policy */

async function policy({ main, me }) {
  const [bundle, { connections: conns }] = await Promise.all([
    api("/console/api/policy"),
    api("/console/api/connections"),
  ]);
  const result = h("div", { id: "explain-result", "aria-live": "polite" });
  const command = h("textarea", {
    name: "command",
    id: "in-command",
    rows: "3",
    required: true,
    spellcheck: "false",
  });
  const form = h(
    "form",
    { class: "filters playground", "aria-label": "Try the policy" },
    field("User", input("user", { value: me.user, required: true })),
    field("Groups", input("groups", { value: me.groups.join(", ") }), "comma-separated"),
    field(
      "Kind",
      select(
        "kind",
        [
          ["human", "human"],
          ["service", "service"],
          ["agent", "agent"],
        ],
        "human",
      ),
    ),
    field(
      "Connection",
      select(
        "connection",
        conns.map((c) => [c.name, `${c.name} (${c.protocol})`]),
        conns[0]?.name,
      ),
    ),
    h("div", { class: "wide" }, field("Command", command)),
    h("div", { class: "actions" }, h("button", { type: "submit", text: "Explain" })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    replace(result, h("p", { class: "muted", text: "Deciding…" }));
    try {
      const explained = await api("/console/api/policy/explain", { method: "POST", body: values });
      const d = explained.decision;
      replace(
        result,
        h(
          "p",
          { class: `decision effect-${d.effect}` },
          badge(d.effect.toUpperCase(), EFFECT_KIND[d.effect] ?? "muted"),
          ` ${d.reason}`,
          d.rule_ids.length ? h("span", { class: "rules", text: ` (${d.rule_ids.join(", ")})` }) : null,
        ),
        d.approvers.length ? h("p", { text: `Reviewers: ${d.approvers.join(", ")}` }) : null,
        d.masks.length ? h("p", { text: `Masked by: ${d.masks.join(", ")}` }) : null,
        explained.statements.map((s, i) =>
          h(
            "section",
            { class: "card", "aria-label": `Statement ${i + 1}` },
            h("h3", {}, `Statement ${i + 1}: `, h("code", { text: s.text })),
            table(
              `Rules for statement ${i + 1}`,
              ["Rule", "Effect", "Outcome", "Where"],
              s.rules.map((r) =>
                h(
                  "tr",
                  { class: r.deciding ? "deciding" : r.applied ? "applied" : "" },
                  h("td", {}, r.deciding ? h("strong", { text: r.id }) : r.id),
                  h("td", { text: `${r.effect}${r.mode === "shadow" ? " (shadow)" : ""}` }),
                  h("td", {
                    text: !r.matched
                      ? `not matched: ${r.whyNot ?? ""}`
                      : r.condition === "false"
                        ? "when is false"
                        : r.condition === "error"
                          ? `when failed: ${r.error ?? ""}`
                          : r.deciding
                            ? "decides"
                            : "applies",
                  }),
                  h("td", { text: `${r.file}:${r.line}` }),
                ),
              ),
            ),
            h("details", {}, h("summary", { text: "Facts" }), json(s.facts)),
          ),
        ),
      );
    } catch (error) {
      replace(result, h("p", { class: "error", role: "alert", text: error.message }));
    }
  });
  replace(
    main,
    heading(
      "Policy",
      h(
        "p",
        { class: "lede" },
        "Bundle ",
        h("code", { text: bundle.version.slice(0, 19) }),
        bundle.git_commit ? ` · git ${bundle.git_commit.slice(0, 12)}` : "",
        ` · time zone ${bundle.time_zone}`,
      ),
    ),
    h(
      "section",
      { "aria-labelledby": "playground-title", class: "card" },
      h("h2", { id: "playground-title", text: "Try it" }),
      h("p", {
        class: "hint",
        text: "Runs the policy's explain for an identity, a connection and a command. Nothing is executed.",
      }),
      form,
      result,
    ),
    h(
      "section",
      { "aria-labelledby": "files-title" },
      h("h2", { id: "files-title", text: "Files" }),
      table(
        "Policy files",
        ["File", "Rules"],
        bundle.files.map((f) =>
          h(
            "tr",
            {},
            h("td", {}, h("code", { text: f.file })),
            h("td", { class: "num", text: String(f.rules) }),
          ),
        ),
      ),
    ),
    h(
      "section",
      { "aria-labelledby": "rules-title" },
      h("h2", { id: "rules-title", text: "Rules" }),
      table(
        "Policy rules",
        ["Rule", "Effect", "Protocols", "When", "Where"],
        bundle.rules.map((r) =>
          h(
            "tr",
            {},
            h(
              "td",
              {},
              h("strong", { text: r.id }),
              r.description ? h("div", { class: "muted", text: r.description }) : null,
            ),
            h(
              "td",
              {},
              badge(
                `${r.effect}${r.mode === "shadow" ? " · shadow" : ""}`,
                { allow: "ok", deny: "bad", approve: "warn" }[r.effect] ?? "muted",
              ),
            ),
            h("td", { text: r.protocols ? r.protocols.join(", ") : "any" }),
            h("td", {}, r.when ? h("code", { text: r.when }) : "—"),
            h("td", { text: `${r.file}:${r.line}` }),
          ),
        ),
      ),
    ),
  );
}

function notfound({ main }) {
  replace(
    main,
    heading("Not found"),
    h(
      "p",
      {},
      "No such page. ",
      h("a", {
        href: "/console/",
        onclick: (e) => {
          e.preventDefault();
          navigate("/console/");
        },
        text: "Go to connections",
      }),
    ),
  );
}

export const views = { connections, approvals, sessions, audit, policy, notfound };
