// Ingest: configured sources with status, lag, error counts and dead-letter size.

import { api } from "../api.js";
import { badge, h, heading, mount, table, when } from "../dom.js";

function status(source) {
  if (!source.running && (source.type === "stream" || source.type === "poll")) return badge("stopped", "warn");
  return source.healthy ? badge("healthy", "ok") : badge("degraded", "bad");
}

/** Messages waiting behind the consumer, when the driver reports it. */
function lag(messages) {
  return messages === null || messages === undefined ? h("span", { class: "muted", title: "not reported by this driver" }, "—") : String(messages);
}

/** The dead letter's size when the driver reports it, else what this process sent there. */
function deadLetter(source) {
  if (source.dead_letter_size !== null && source.dead_letter_size !== undefined) return String(source.dead_letter_size);
  return source.dead_lettered === null || source.dead_lettered === undefined
    ? h("span", { class: "muted" }, "—")
    : h("span", { title: "dead-lettered since the gateway started" }, String(source.dead_lettered));
}

export async function render(root) {
  const data = await api("/v1/console/sources");
  mount(
    root,
    heading("Ingest"),
    h("p", { class: "muted" }, `${data.sources.length} source(s). Press `, h("kbd", {}, "r"), " to refresh."),
    table(
      [
        { label: "Source", cell: (s) => h("code", {}, s.source_id) },
        { label: "Type", cell: (s) => s.type },
        { label: "Driver", cell: (s) => s.driver || "—" },
        { label: "Bank", cell: (s) => s.bank || h("span", { class: "muted" }, "from message") },
        { label: "Status", cell: status },
        { label: "Lag", class: "num", cell: (s) => lag(s.lag) },
        { label: "Retained", class: "num", cell: (s) => String(s.retained ?? "—") },
        { label: "Retried", class: "num", cell: (s) => String(s.retried ?? "—") },
        { label: "Failures in a row", class: "num", cell: (s) => String(s.consecutive_failures ?? "—") },
        { label: "Dead letter", class: "num", cell: deadLetter },
        { label: "Last success", cell: (s) => when(s.last_success_at) },
        { label: "Note", class: "text", cell: (s) => (s.last_error ? h("span", { class: "error" }, s.last_error) : s.message) },
      ],
      data.sources.map((s) => ({ ...s, attrs: { "data-source": s.source_id } })),
      { caption: "Ingest sources", hideCaption: true, empty: "No ingest sources are configured (sources: in astrocyte.yaml)." },
    ),
  );
}
