/** The Sluice console: one page, plain ES modules, no build step, nothing from other origins. */
import { h, replace } from "./dom.js";
import { views } from "./views.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const announcer = document.getElementById("announcer");

const PAGES = [
  { path: "/console/", label: "Connections", view: "connections" },
  { path: "/console/approvals", label: "Approvals", view: "approvals" },
  { path: "/console/sessions", label: "Sessions", view: "sessions" },
  { path: "/console/audit", label: "Audit", view: "audit", privileged: true },
  { path: "/console/policy", label: "Policy", view: "policy", privileged: true },
];

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function csrfToken() {
  const match = /(?:^|;\s*)sluice_csrf=([^;]+)/.exec(document.cookie);
  return match ? match[1] : "";
}

/** JSON from the gateway, with the session cookie and (for changes) the CSRF token. */
export async function api(path, options = {}) {
  const method = options.method ?? "GET";
  const headers = { accept: "application/json" };
  if (method !== "GET") {
    headers["content-type"] = "application/json";
    headers["x-sluice-csrf"] = csrfToken();
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401 && !options.quiet) {
    signIn(body.providers ?? []);
    throw new ApiError(401, body.error ?? "not logged in");
  }
  if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
  return body;
}

export function announce(message) {
  announcer.textContent = "";
  setTimeout(() => {
    announcer.textContent = message;
  }, 50);
}

const state = { me: undefined, events: undefined, listeners: new Set(), pending: 0 };

/** Subscribe to approval changes while a view is shown (the returned function unsubscribes). */
export function onApprovalEvent(listener) {
  state.listeners.add(listener);
  return () => state.listeners.delete(listener);
}

function signIn(providers) {
  state.me = undefined;
  state.events?.close();
  state.events = undefined;
  replace(nav);
  replace(who);
  const redirect = location.pathname + location.search;
  replace(
    main,
    h(
      "section",
      { class: "signin", "aria-labelledby": "signin-title" },
      h("h1", { id: "signin-title", text: "Sign in to Sluice" }),
      providers.length === 0
        ? h("p", {
            text: "No identity provider is configured. Use a gateway token with the API, or ask an administrator.",
          })
        : h(
            "ul",
            { class: "providers" },
            providers.map((name) =>
              h(
                "li",
                {},
                h("a", {
                  class: "button",
                  href: `/login/${encodeURIComponent(name)}?redirect=${encodeURIComponent(redirect)}`,
                  text: `Sign in with ${name}`,
                }),
              ),
            ),
          ),
    ),
  );
  document.title = "Sign in · Sluice";
}

function renderChrome() {
  const me = state.me;
  const current = location.pathname;
  replace(
    nav,
    h(
      "ul",
      {},
      PAGES.filter((p) => !p.privileged || me.privileged).map((page) => {
        const active = page.path === "/console/" ? current === "/console/" : current.startsWith(page.path);
        return h(
          "li",
          {},
          h(
            "a",
            { href: page.path, "aria-current": active ? "page" : undefined, "data-nav": page.view },
            page.label,
            page.view === "approvals" && state.pending > 0
              ? h("span", {
                  class: "count",
                  "aria-label": `${state.pending} waiting for you`,
                  text: String(state.pending),
                })
              : null,
          ),
        );
      }),
    ),
  );
  replace(
    who,
    h("span", { class: "user", title: me.groups.join(", ") }, me.user),
    h("button", { type: "button", class: "secondary small", onclick: logout, text: "Sign out" }),
  );
}

async function logout() {
  await fetch("/logout", {
    method: "POST",
    credentials: "same-origin",
    headers: { "x-sluice-csrf": csrfToken() },
  });
  location.assign("/console/");
}

async function refreshPending() {
  try {
    const { approvals } = await api("/api/approvals?view=review", { quiet: true });
    state.pending = approvals.filter((a) => a.can_review).length;
    renderChrome();
  } catch {
    // the badge is a convenience
  }
}

function connectEvents() {
  if (state.events) return;
  const events = new EventSource("/console/api/events");
  state.events = events;
  events.addEventListener("approval", (message) => {
    const data = JSON.parse(message.data);
    for (const listener of state.listeners) listener(data);
    void refreshPending();
  });
  events.addEventListener("resync", () => {
    for (const listener of state.listeners) listener({ resync: true });
    void refreshPending();
  });
  events.addEventListener("logout", () => {
    events.close();
    state.events = undefined;
    void route();
  });
}

let cleanup = () => {};

/** Shows the page for the current URL. */
export async function route() {
  if (state.me === undefined) {
    try {
      state.me = await api("/console/api/me");
    } catch {
      return;
    }
    connectEvents();
    void refreshPending();
  }
  cleanup();
  cleanup = () => {};
  const path = location.pathname.replace(/\/+$/, "") || "/console";
  const parts = path.split("/").filter(Boolean).slice(1);
  const name = parts[0] ?? "connections";
  const page = PAGES.find((p) => p.view === name) ?? { view: "notfound", label: "Not found" };
  renderChrome();
  const view = views[page.view] ?? views.notfound;
  replace(main);
  document.title = `${page.label} · Sluice`;
  try {
    const result = await view({
      main,
      me: state.me,
      args: parts.slice(1),
      params: new URLSearchParams(location.search),
    });
    if (typeof result === "function") cleanup = result;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    replace(
      main,
      h(
        "div",
        { class: "error", role: "alert" },
        h("h1", { text: "Something went wrong" }),
        h("p", { text: error.message }),
      ),
    );
  }
}

/** Client-side navigation for links inside the console. */
export function navigate(url, options = {}) {
  if (options.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  void route().then(() => {
    if (!options.keepFocus) main.focus();
  });
}

document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a") : null;
  if (
    !link ||
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey
  )
    return;
  const url = new URL(link.href, location.href);
  if (
    url.origin !== location.origin ||
    !url.pathname.startsWith("/console/") ||
    link.hasAttribute("download")
  )
    return;
  if (url.pathname.startsWith("/console/api/") || url.pathname.startsWith("/console/static/")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", () => void route());
void route();
