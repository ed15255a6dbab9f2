// Memory detail: text, metadata, tags, entities and graph neighbours, authority tier, source, the
// audit trail, and forget (behind a confirmation dialog).

import { api, enc } from "../api.js";
import { badge, h, heading, mount, table, toast, when } from "../dom.js";

function facts(memory) {
  const rows = [
    ["Bank", h("a", { href: `#/banks/${enc(memory.bank_id)}` }, memory.bank_id)],
    ["Source", memory.source.kind === "api" && !memory.source.name
      ? "API call"
      : h("span", {}, badge(memory.source.kind, "source"), " ", h("code", {}, memory.source.name || ""))],
    ["Authority tier", memory.authority_tier ?? h("span", { class: "muted" }, "not set")],
    ["Content type", memory.content_type || "—"],
    ["Occurred", memory.occurred_at ? when(memory.occurred_at) : "—"],
    ["Retained", when(memory.retained_at)],
    ["Tags", memory.tags.length ? memory.tags.map((t) => badge(t, "tag")) : "—"],
  ];
  return h("dl", { class: "facts" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function metadataTable(metadata) {
  const rows = Object.entries(metadata).map(([key, value]) => ({ key, value }));
  return table(
    [
      { label: "Key", cell: (r) => h("code", {}, r.key) },
      { label: "Value", class: "text", cell: (r) => (typeof r.value === "string" ? r.value : JSON.stringify(r.value)) },
    ],
    rows,
    { caption: "Metadata", empty: "No metadata.", hideCaption: true },
  );
}

function graph(memory) {
  return h(
    "div",
    { class: "graph" },
    h("div", {}, h("h3", {}, "Entities"), memory.entities.length
      ? h("ul", { class: "entities" }, memory.entities.map((e) => h("li", {}, h("strong", {}, e.name), " ", badge(e.entity_type))))
      : h("p", { class: "empty" }, "No entities recorded for this memory.")),
    h("div", {}, h("h3", {}, "Graph neighbours"), table(
      [
        { label: "Memory", class: "text", cell: (n) => h("a", { href: `#/banks/${enc(memory.bank_id)}/memories/${enc(n.memory_id)}` }, n.text) },
        { label: "Via", cell: (n) => n.via_entity },
        { label: "Depth", class: "num", cell: (n) => String(n.depth) },
      ],
      memory.neighbours,
      { caption: "Memories sharing an entity", empty: "No other memory shares an entity with this one." },
    )),
  );
}

function auditTable(events) {
  return table(
    [
      { label: "When", cell: (e) => when(e.timestamp) },
      { label: "Action", cell: (e) => e.action },
      { label: "Result", cell: (e) => badge(e.result, e.result === "ok" ? "ok" : "bad") },
      { label: "Principal", cell: (e) => e.principal || "—" },
      { label: "On behalf of", cell: (e) => e.on_behalf_of || "—" },
    ],
    events,
    { caption: "Audit trail", empty: "No audited operation touched this memory since the gateway started.", hideCaption: true },
  );
}

function confirmForget(memory, root) {
  const dialog = h(
    "dialog",
    { id: "forget-dialog", "aria-labelledby": "forget-title", "aria-describedby": "forget-text" },
    h("h2", { id: "forget-title" }, "Forget this memory?"),
    h("p", { id: "forget-text" }, "It is deleted from every store of bank ", h("code", {}, memory.bank_id), ". This cannot be undone."),
    h(
      "form",
      { method: "dialog", class: "actions" },
      h("button", { value: "cancel", autofocus: true }, "Cancel"),
      h("button", { value: "forget", class: "danger", id: "confirm-forget" }, "Forget"),
    ),
  );
  dialog.addEventListener("close", async () => {
    dialog.remove();
    if (dialog.returnValue !== "forget") return document.getElementById("forget")?.focus();
    try {
      const result = await api("/v1/forget", { method: "POST", body: { bank_id: memory.bank_id, memory_ids: [memory.memory_id] } });
      toast(`Forgot ${result.deleted_count} memory.`);
      mount(
        root,
        heading("Memory forgotten"),
        h("p", { role: "status" }, h("code", {}, memory.memory_id), ` was removed from bank ${memory.bank_id}.`),
        h("p", {}, h("a", { href: `#/banks/${enc(memory.bank_id)}` }, "Back to the bank"), " · ", h("a", { href: `#/search?bank=${enc(memory.bank_id)}` }, "Search")),
      );
      root.querySelector(".page-title").focus();
    } catch (error) {
      if (error.status !== 401) toast(`Forget failed: ${error.message}`);
    }
  });
  document.body.append(dialog);
  dialog.showModal();
}

export async function render(root, { path: [bankId, memoryId] }) {
  const memory = await api(`/v1/console/banks/${enc(bankId)}/memories/${enc(memoryId)}`);
  const canForget = memory.permissions.includes("forget");
  mount(
    root,
    heading("Memory ", h("code", {}, memory.memory_id)),
    h("blockquote", { class: "memory-text" }, memory.text),
    h(
      "div",
      { class: "toolbar" },
      canForget
        ? h("button", { id: "forget", type: "button", class: "danger", onclick: () => confirmForget(memory, root) }, "Forget…")
        : h("span", { class: "muted" }, "You may not forget memories of this bank."),
    ),
    facts(memory),
    h("h2", {}, "Entities and neighbours"),
    graph(memory),
    h("h2", {}, "Metadata"),
    metadataTable(memory.metadata),
    h("h2", {}, "Audit trail"),
    auditTable(memory.audit),
  );
}
