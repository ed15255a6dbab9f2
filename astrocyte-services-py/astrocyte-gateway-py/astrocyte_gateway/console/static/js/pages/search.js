// Search: run a recall with filters; show the fused hits and the trace (which strategy found each
// hit, its rank there, timings) as tables and a small inline-SVG chart.

import { api, enc } from "../api.js";
import { badge, h, heading, mount, ms, table, toast } from "../dom.js";
import { timingChart } from "../chart.js";

function searchHash(form) {
  const data = new FormData(form);
  const params = new URLSearchParams();
  for (const key of ["bank", "q", "tags", "from", "to", "k"]) {
    const value = String(data.get(key) || "").trim();
    if (value) params.set(key, value);
  }
  const chosen = data.getAll("strategy");
  const all = [...form.querySelectorAll("input[name=strategy]")].map((box) => box.value);
  if (chosen.length !== all.length) params.set("strategies", chosen.join(","));
  params.set("run", String(Date.now()));  // a repeated identical search still re-runs
  return `#/search?${params}`;
}

function recallRequest(query) {
  const request = { bank_id: query.get("bank"), query: query.get("q"), max_results: Number(query.get("k") || 10) };
  const tags = (query.get("tags") || "").split(",").map((t) => t.trim()).filter(Boolean);
  if (tags.length) request.tags = tags;
  const from = query.get("from");
  const to = query.get("to");
  if (from || to) request.time_range = { start: from ? new Date(from).toISOString() : null, end: to ? new Date(to).toISOString() : null };
  if (query.has("strategies")) request.strategies = query.get("strategies").split(",").filter(Boolean);
  return request;
}

function field(label, control, hint) {
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hint ? h("small", { class: "muted" }, hint) : null);
}

function form(banks, strategies, query) {
  const bank = query.get("bank") || banks[0]?.bank_id || "";
  const selected = query.has("strategies") ? query.get("strategies").split(",") : strategies;
  const bankSelect = h("select", { id: "bank", name: "bank", required: true }, banks.map((b) => h("option", { value: b.bank_id, selected: b.bank_id === bank }, b.bank_id)));
  return h(
    "form",
    {
      class: "card search-form",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        if (event.target.reportValidity()) location.hash = searchHash(event.target);
      },
    },
    h(
      "div",
      { class: "row" },
      field("Bank", bankSelect),
      h("div", { class: "field grow" }, h("label", { for: "query" }, "Query ", h("kbd", {}, "/")), h("input", { id: "query", name: "q", type: "search", required: true, value: query.get("q") || "", autocomplete: "off" })),
      h("div", { class: "field" }, h("span", { class: "label-spacer", "aria-hidden": "true" }, " "), h("button", { type: "submit" }, "Recall")),
    ),
    h(
      "div",
      { class: "row" },
      field("Tags", h("input", { id: "tags", name: "tags", value: query.get("tags") || "", placeholder: "tag-a, tag-b" }), "any of these"),
      field("From", h("input", { id: "from", name: "from", type: "datetime-local", value: query.get("from") || "" })),
      field("To", h("input", { id: "to", name: "to", type: "datetime-local", value: query.get("to") || "" })),
      field("Max results", h("input", { id: "k", name: "k", type: "number", min: "1", max: "1000", value: query.get("k") || "10" })),
      h(
        "fieldset",
        { class: "strategies" },
        h("legend", {}, "Strategies"),
        strategies.map((name) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "strategy", value: name, checked: selected.includes(name) }), name)),
      ),
    ),
  );
}

function rankIn(trace, hit) {
  const index = trace.hit_ids.indexOf(hit.memory_id);
  return trace.bank_id && trace.bank_id !== hit.bank_id ? -1 : index;
}

function hitsTable(result) {
  return table(
    [
      { label: "#", class: "num", cell: (hit) => String(hit.rank) },
      { label: "Score", class: "num", cell: (hit) => hit.score.toFixed(4) },
      { label: "Memory", class: "text", cell: (hit) => h("a", { href: `#/banks/${enc(hit.bank_id)}/memories/${enc(hit.memory_id)}`, class: "hit-link" }, hit.text) },
      { label: "Found by", cell: (hit) => hit.strategies.map((s) => badge(s, "strategy")) },
      { label: "Tags", cell: (hit) => hit.tags.map((t) => badge(t, "tag")) },
      { label: "Occurred", cell: (hit) => (hit.occurred_at ? new Date(hit.occurred_at).toISOString().slice(0, 10) : "—") },
    ],
    result.hits.map((hit, i) => ({ ...hit, rank: i + 1, attrs: { "data-memory-id": hit.memory_id } })),
    { caption: "Fused hits", empty: "No memory matched." },
  );
}

function traceTable(result) {
  const ran = result.trace.strategies.filter((t) => !t.skipped);
  return table(
    [
      { label: "#", class: "num", cell: (hit) => String(hit.rank) },
      { label: "Memory", cell: (hit) => h("code", {}, hit.memory_id) },
      ...ran.map((trace) => ({
        label: trace.name,
        class: "num",
        cell: (hit) => {
          const rank = rankIn(trace, hit);
          return rank < 0 ? h("span", { class: "muted", "aria-label": "not found" }, "—") : h("span", { class: "rank" }, `#${rank + 1}`);
        },
      })),
    ],
    result.hits.map((hit, i) => ({ ...hit, rank: i + 1 })),
    { caption: "Rank of each fused hit in each strategy", empty: "" },
  );
}

function strategyTable(result) {
  return table(
    [
      { label: "Strategy", cell: (t) => h("strong", {}, t.name) },
      { label: "Bank", cell: (t) => t.bank_id || "—" },
      { label: "Hits", class: "num", cell: (t) => String(t.hit_ids.length) },
      { label: "Weight", class: "num", cell: (t) => t.weight.toFixed(2) },
      { label: "Took", class: "num", cell: (t) => ms(t.duration_ms) },
      { label: "Status", cell: (t) => (t.error ? badge(`error: ${t.error}`, "bad") : t.skipped ? badge("skipped", "warn") : badge("ran", "ok")) },
    ],
    result.trace.strategies.map((t) => ({ ...t, attrs: { "data-strategy": t.name } })),
    { caption: "Strategies", empty: "No strategy ran." },
  );
}

function results(result) {
  const trace = result.trace;
  return h(
    "section",
    { class: "results", "aria-labelledby": "results-title" },
    h("h2", { id: "results-title", tabindex: "-1", "data-autofocus": true }, `${result.hits.length} hit(s)`),
    h("p", { class: "muted" }, `Fusion ${trace.fusion}, ${ms(trace.total_ms)} total (embedding ${ms(trace.embedding_ms)}), ${trace.tokens_used} tokens${trace.truncated ? ", truncated by the token budget" : ""}.`),
    hitsTable(result),
    h("h2", {}, "Trace"),
    h("div", { class: "trace" }, h("div", {}, strategyTable(result)), timingChart(trace)),
    result.hits.length ? traceTable(result) : null,
    trace.notes.length ? h("ul", { class: "notes" }, trace.notes.map((note) => h("li", {}, note))) : null,
  );
}

export async function render(root, { query }) {
  const data = await api("/v1/console/banks");
  const page = [heading("Search"), form(data.banks, data.recall_strategies, query)];
  if (!data.banks.length) page.push(h("p", { class: "empty" }, "No bank you may read holds memories yet."));
  if (query.get("q") && query.get("bank")) {
    try {
      page.push(results(await api("/v1/recall", { method: "POST", body: recallRequest(query) })));
    } catch (error) {
      if (error.status === 401) throw error;
      page.push(h("p", { class: "error", role: "alert" }, `Recall failed: ${error.message}`));
      toast("Recall failed.");
    }
  }
  mount(root, ...page);
}
