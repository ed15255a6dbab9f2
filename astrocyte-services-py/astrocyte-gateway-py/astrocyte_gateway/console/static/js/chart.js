// A small inline-SVG bar chart of where recall time went (no chart library, no external assets).

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 420;
const BAR = 18;
const GAP = 8;
const LABEL = 110;

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Bars: the query embedding, each strategy (its hit count in the label) and the whole recall. */
export function timingChart(trace) {
  const rows = [
    { label: "embedding", value: trace.embedding_ms, kind: "embed" },
    ...trace.strategies.map((t) => ({ label: `${t.name} (${t.hit_ids.length})`, value: t.duration_ms, kind: t.error ? "error" : t.skipped ? "skipped" : "strategy" })),
    { label: "total", value: trace.total_ms, kind: "total" },
  ];
  const max = Math.max(...rows.map((r) => r.value), 0.001);
  const height = rows.length * (BAR + GAP) + GAP;
  const summary = rows.map((r) => `${r.label}: ${r.value.toFixed(1)} ms`).join("; ");
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height, role: "img", "aria-label": `Recall timings: ${summary}` });
  chart.append(svg("title", {}, "Recall timings"));
  rows.forEach((row, i) => {
    const y = GAP + i * (BAR + GAP);
    const width = Math.max(1, ((WIDTH - LABEL - 70) * row.value) / max);
    chart.append(
      svg("text", { x: LABEL - 6, y: y + BAR - 5, "text-anchor": "end", class: "chart-label" }, row.label),
      svg("rect", { x: LABEL, y, width, height: BAR, rx: 3, class: `bar ${row.kind}` }),
      svg("text", { x: LABEL + width + 6, y: y + BAR - 5, class: "chart-value" }, `${row.value.toFixed(1)} ms`),
    );
  });
  const figure = document.createElement("figure");
  figure.className = "chart-figure";
  const caption = document.createElement("figcaption");
  caption.textContent = "Where the time went (hits per strategy in brackets)";
  figure.append(chart, caption);
  return figure;
}
