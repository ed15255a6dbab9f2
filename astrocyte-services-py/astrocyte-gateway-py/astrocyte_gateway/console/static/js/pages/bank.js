// One bank: its memories, newest first, a page at a time.

import { api, enc } from "../api.js";
import { badge, h, heading, mount, table, when } from "../dom.js";

const PAGE = 50;

export async function render(root, { path: [bankId], query }) {
  const offset = Math.max(0, Number(query.get("offset")) || 0);
  const data = await api(`/v1/console/banks/${enc(bankId)}/memories?offset=${offset}&limit=${PAGE}`);
  const pageLink = (to, label) => h("a", { href: `#/banks/${enc(bankId)}?offset=${to}` }, label);
  mount(
    root,
    heading("Bank ", h("code", {}, bankId)),
    h("p", {}, h("a", { href: "#/banks" }, "← All banks"), " · ", h("a", { href: `#/search?bank=${enc(bankId)}` }, "Search this bank")),
    h("p", { class: "muted" }, `${data.total} memories; showing ${data.total ? offset + 1 : 0}–${offset + data.memories.length}.`),
    table(
      [
        { label: "Memory", cell: (m) => h("a", { href: `#/banks/${enc(bankId)}/memories/${enc(m.memory_id)}` }, m.memory_id) },
        { label: "Text", class: "text", cell: (m) => m.text },
        { label: "Tags", cell: (m) => m.tags.map((t) => badge(t, "tag")) },
        { label: "Retained", cell: (m) => when(m.retained_at) },
      ],
      data.memories,
      { caption: `Memories of ${bankId}`, empty: "This bank holds no memories." },
    ),
    h(
      "nav",
      { class: "pager", "aria-label": "Pages of memories" },
      offset > 0 ? pageLink(Math.max(0, offset - PAGE), "← Newer") : null,
      offset + data.memories.length < data.total ? pageLink(offset + PAGE, "Older →") : null,
    ),
  );
}
