/** Small DOM helpers: every piece of data goes in as text, never as markup. */

/**
 * Creates an element. `attrs`: `class`, `text`, `on<event>` handlers, booleans and strings as
 * attributes (`for`, `aria-*`, `href`, ...). Children: nodes, strings (as text), arrays, null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
/** A unique element id (labels and descriptions). */
export function uid(prefix = "f") {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled form field; `control` is an input, select or textarea element. */
export function field(label, control, hint) {
  const id = control.id || uid();
  control.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, text: label }),
    control,
    hint ? h("p", { class: "hint", id: hintId, text: hint }) : null,
  );
}

export function table(caption, headers, rows, options = {}) {
  return h(
    "div",
    {
      class: "table-wrap",
      tabindex: options.scrollable === false ? undefined : "0",
      role: "region",
      "aria-label": caption,
    },
    h(
      "table",
      { class: options.class },
      h("caption", { class: options.showCaption ? "" : "visually-hidden", text: caption }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((name) => h("th", { scope: "col", text: name })),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

export function time(iso) {
  if (!iso) return h("span", { class: "muted", text: "—" });
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h("span", { text: iso });
  return h("time", { datetime: date.toISOString(), title: date.toISOString(), text: date.toLocaleString() });
}

/** "in 12 min", "3 min ago". */
export function relative(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  if (Number.isNaN(ms)) return "";
  const abs = Math.abs(ms);
  const unit =
    abs < 90_000
      ? [Math.round(abs / 1000), "s"]
      : abs < 5_400_000
        ? [Math.round(abs / 60_000), "min"]
        : [Math.round(abs / 3_600_000), "h"];
  return ms >= 0 ? `in ${unit[0]} ${unit[1]}` : `${unit[0]} ${unit[1]} ago`;
}

export function badge(text, kind) {
  return h("span", { class: `badge badge-${kind}`, text });
}

/** A code block with a copy button. */
export function copyable(text, label) {
  const code = h("code", { text });
  const status = h("span", { class: "copy-status", role: "status" });
  const button = h("button", {
    type: "button",
    class: "secondary small",
    "aria-label": `Copy ${label}`,
    text: "Copy",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        status.textContent = "Copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(code);
        const selection = window.getSelection();
        selection?.removeAllRanges();
        selection?.addRange(range);
        status.textContent = "Selected: press Ctrl+C";
      }
      setTimeout(() => {
        status.textContent = "";
      }, 2500);
    },
  });
  return h(
    "div",
    { class: "copyable" },
    h("pre", {}, code),
    h("div", { class: "copy-actions" }, button, status),
  );
}
