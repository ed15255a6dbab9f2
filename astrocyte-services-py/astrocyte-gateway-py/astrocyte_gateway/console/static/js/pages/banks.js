// Banks: every bank the caller may read, with counts, size, last write; the stores and their health.

import { api, enc } from "../api.js";
import { badge, bytes, h, health, heading, mount, ms, table, when } from "../dom.js";

export async function render(root) {
  const data = await api("/v1/console/banks");
  const total = data.banks.reduce((sum, bank) => sum + bank.memory_count, 0);
  mount(
    root,
    heading("Banks"),
    h("p", { class: "muted" }, `${data.banks.length} bank(s) you may read, ${total} memories.`),
    table(
      [
        { label: "Bank", cell: (b) => h("a", { href: `#/banks/${enc(b.bank_id)}`, class: "bank-link" }, b.bank_id) },
        { label: "Memories", class: "num", cell: (b) => String(b.memory_count) },
        { label: "Size", class: "num", cell: (b) => bytes(b.size_bytes) },
        { label: "Last write", cell: (b) => when(b.last_write) },
        { label: "Your access", cell: (b) => b.permissions.map((p) => badge(p)) },
        { label: "", cell: (b) => h("a", { href: `#/search?bank=${enc(b.bank_id)}` }, "Search") },
      ],
      data.banks.map((b) => ({ ...b, attrs: { "data-bank": b.bank_id } })),
      { caption: "Banks you may read", empty: "No bank you may read holds memories yet.", hideCaption: true },
    ),
    h("h2", {}, "Stores"),
    table(
      [
        { label: "Role", cell: (s) => s.kind },
        { label: "Provider", cell: (s) => h("code", {}, s.provider) },
        { label: "Health", cell: (s) => health(s.healthy, s.message) },
        { label: "Check took", class: "num", cell: (s) => ms(s.latency_ms) },
      ],
      data.stores,
      { caption: "Configured stores", hideCaption: true },
    ),
  );
}
