// Hash router, sign-in, keyboard shortcuts. Pages render into <main>; a route change moves focus
// to the page heading so keyboard and screen-reader users land on the new content.

import { ApiError, api, credential } from "./api.js";
import { h, heading, mount, toast } from "./dom.js";
import * as banks from "./pages/banks.js";
import * as bank from "./pages/bank.js";
import * as ingest from "./pages/ingest.js";
import * as memory from "./pages/memory.js";
import * as search from "./pages/search.js";

const main = document.getElementById("main");
const session = document.getElementById("session");

/** [pattern, page, nav key]; captured groups become ``params.path``. */
const ROUTES = [
  [/^\/banks\/?$/, banks, "banks"],
  [/^\/banks\/([^/]+)\/memories\/([^/]+)$/, memory, "banks"],
  [/^\/banks\/([^/]+)\/?$/, bank, "banks"],
  [/^\/search\/?$/, search, "search"],
  [/^\/ingest\/?$/, ingest, "ingest"],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/banks";
  const [path, query = ""] = raw.split("?");
  return { path, query: new URLSearchParams(query) };
}

async function route() {
  const { path, query } = parseHash();
  if (!credential.get()) return signIn();
  const match = ROUTES.find(([pattern]) => pattern.test(path));
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.toggleAttribute("aria-current", match !== undefined && link.dataset.nav === match[2]);
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  if (!match) {
    mount(main, heading("Not found"), h("p", {}, "No page at ", h("code", {}, path), ". ", h("a", { href: "#/banks" }, "Go to banks")));
    return focusTitle();
  }
  const [pattern, page] = match;
  const params = { path: pattern.exec(path).slice(1).map(decodeURIComponent), query };
  mount(main, h("p", { class: "muted", role: "status" }, "Loading…"));
  try {
    await page.render(main, params);
  } catch (error) {
    renderError(error);
  }
  focusTitle();
}

function focusTitle() {
  const title = main.querySelector("[data-autofocus]") || main.querySelector(".page-title");
  // Keep focus where it is when the user is typing in a form of the page (e.g. re-running a search).
  if (title && !main.contains(document.activeElement)) title.focus({ preventScroll: false });
}

function renderError(error) {
  if (error instanceof ApiError && error.status === 401) return;  // signIn() already took over
  const detail = error instanceof ApiError ? error.message : String(error);
  const notFound = error instanceof ApiError && error.status === 404;
  mount(
    main,
    heading(notFound ? "Not found" : "Something went wrong"),
    h("p", { class: "error", role: "alert" }, detail),
    h("p", {}, h("a", { href: "#/banks" }, "Back to banks")),
  );
}

function signIn(message) {
  renderSession(null);
  const input = h("input", { id: "token", type: "password", autocomplete: "off", required: true, spellcheck: "false", "aria-describedby": "token-help" });
  const form = h(
    "form",
    { class: "signin card", onsubmit: (event) => { event.preventDefault(); credential.set(input.value); showSessionAndPage(); } },
    h("label", { for: "token" }, "API key or bearer token"),
    input,
    h("p", { id: "token-help", class: "muted" }, "The same credential the HTTP API takes. It is kept in this tab's session storage only and sent as an Authorization header."),
    h("button", { type: "submit" }, "Sign in"),
  );
  mount(main, heading("Sign in"), message ? h("p", { class: "error", role: "alert" }, message) : null, form);
  input.focus();
}

async function renderSession(who) {
  if (who === null) return mount(session);
  mount(
    session,
    h("span", { class: "muted" }, "Signed in as "),
    h("strong", { id: "principal" }, who.principal || "anonymous"),
    who.admin ? h("span", { class: "badge" }, "admin") : null,
    h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
  );
}

function signOut() {
  credential.clear();
  toast("Signed out.");
  signIn();
}

async function start() {
  window.addEventListener("console:unauthorized", (event) => {
    credential.clear();
    signIn(`The gateway refused the credential: ${event.detail.message}`);
  });
  window.addEventListener("hashchange", route);
  installShortcuts();
  await showSessionAndPage();
}

/** Show who is signed in, then the page — unless the gateway refused the credential (the sign-in
 * form with the reason is showing then). */
async function showSessionAndPage() {
  if (credential.get()) {
    try {
      renderSession(await api("/v1/console/whoami"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      renderSession({ principal: "?" });
    }
  }
  await route();
}

// ---------------------------------------------------------------------------- keyboard

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function installShortcuts() {
  let pendingG = false;
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target) || document.querySelector("dialog[open]")) return;
    if (pendingG) {
      pendingG = false;
      const target = { b: "#/banks", s: "#/search", i: "#/ingest" }[event.key];
      if (target) {
        event.preventDefault();
        location.hash = target;
      }
      return;
    }
    if (event.key === "g") {
      pendingG = true;
      setTimeout(() => { pendingG = false; }, 1500);
    } else if (event.key === "?") {
      event.preventDefault();
      document.getElementById("help").showModal();
    } else if (event.key === "/") {
      event.preventDefault();
      const box = document.getElementById("query");
      if (box) box.focus();
      else location.hash = "#/search";
    } else if (event.key === "r") {
      event.preventDefault();
      route().then(() => toast("Reloaded."));
    }
  });
}

start();
