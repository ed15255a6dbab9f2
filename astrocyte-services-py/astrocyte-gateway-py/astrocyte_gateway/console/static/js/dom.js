// Tiny DOM builder: every text goes through textContent, so memory text can never inject markup.

/** h("a", {href: "#/x", class: "y", onclick: fn}, "text", child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace the children of ``el``. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** The page heading; focusable so route changes can move keyboard focus to it. */
export function heading(text, ...extra) {
  return h("h1", { tabindex: "-1", class: "page-title" }, text, ...extra);
}

/** A data table; ``hideCaption`` keeps the caption for screen readers when a heading shows it already. */
export function table(columns, rows, { caption, empty = "Nothing to show.", hideCaption = false } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    {},
    caption ? h("caption", { class: hideCaption ? "sr-only" : null }, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)))),
    h("tbody", {}, rows.map((row) => h("tr", row.attrs || {}, columns.map((c) => h("td", { class: c.class }, c.cell(row)))))),
  );
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}`.trim() }, text);
}

export function health(healthy, message) {
  return h(
    "span",
    { class: healthy ? "health ok" : "health bad" },
    h("span", { class: "dot", "aria-hidden": "true" }),
    healthy ? "healthy" : "unhealthy",
    message ? h("span", { class: "muted" }, ` — ${message}`) : null,
  );
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** "3 min ago" with the exact ISO time in a tooltip. */
export function when(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const date = new Date(iso);
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const steps = [[60, "s"], [60, "min"], [24, "h"], [Infinity, "d"]];
  let value = Math.abs(seconds);
  let label = "s";
  for (const [size, name] of steps) {
    label = name;
    if (value < size) break;
    value = Math.floor(value / size);
  }
  const text = seconds >= 0 ? `${value} ${label} ago` : `in ${value} ${label}`;
  return h("time", { datetime: date.toISOString(), title: date.toISOString() }, text);
}

export function ms(value) {
  return value === null || value === undefined ? "—" : `${Number(value).toFixed(1)} ms`;
}

/** Polite status message for screen readers and sighted users alike. */
export function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 5000);
}
