// Small inline-SVG charts (no library, nothing from the network).
const NS = "http://www.w3.org/2000/svg";
export const COLORS = ["#c62828", "#ef6c00", "#1f5fbf", "#2e7d32", "#6a1b9a", "#00838f"];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(width, height, pad) {
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  for (const pct of [0, 25, 50, 75, 100]) {
    const y = pad.top + (height - pad.top - pad.bottom) * (1 - pct / 100);
    root.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, stroke: "#e3e8ef" }));
    root.append(svg("text", { x: pad.left - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#5f6b7a" }, pct + "%"));
  }
  return root;
}

function shorten(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

// groups: [{key, label, values: {series: rate|null}}]; series: [[id, label]]
export function barChart(groups, series, { width = 760, height = 280 } = {}) {
  const pad = { top: 14, right: 8, bottom: 70, left: 40 };
  const root = frame(width, height, pad);
  const plotH = height - pad.top - pad.bottom;
  const slot = (width - pad.left - pad.right) / Math.max(groups.length, 1);
  const barW = Math.min(22, (slot - 8) / series.length);
  groups.forEach((g, i) => {
    const x0 = pad.left + i * slot + (slot - barW * series.length) / 2;
    series.forEach(([id, label], j) => {
      const rate = g.values[id];
      const h = rate == null ? 0 : Math.max(1, rate * plotH);
      const bar = svg("rect", {
        x: x0 + j * barW, y: pad.top + plotH - h, width: barW - 2, height: h, fill: COLORS[j % COLORS.length],
        class: "bar", "data-group": g.key, "data-series": id, "data-rate": rate == null ? "" : rate.toFixed(4),
      });
      bar.append(svg("title", {}, `${g.label} · ${label}：${rate == null ? "无已到期时限" : (rate * 100).toFixed(1) + "%"}`));
      root.append(bar);
      if (rate != null) {
        root.append(svg("text", { x: x0 + j * barW + (barW - 2) / 2, y: pad.top + plotH - h - 3, "text-anchor": "middle",
          "font-size": 9, fill: "#1d2733" }, Math.round(rate * 100) + ""));
      }
    });
    const lx = pad.left + i * slot + slot / 2 + 6;
    root.append(svg("text", { x: lx, y: height - pad.bottom + 14, "text-anchor": "end", "font-size": 11, fill: "#1d2733",
      transform: `rotate(-25 ${lx} ${height - pad.bottom + 14})` }, shorten(g.label, 10)));
  });
  if (!groups.some((g) => Object.values(g.values).some((v) => v != null))) {
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", fill: "#5f6b7a" },
      groups.length ? "本期尚无已到期的时限" : "本期无数据"));
  }
  return root;
}

// lines: [{key, label, points: [{x: bucket, y: rate|null}]}]
export function lineChart(lines, buckets, { width = 520, height = 280 } = {}) {
  const pad = { top: 12, right: 12, bottom: 40, left: 40 };
  const root = frame(width, height, pad);
  const plotH = height - pad.top - pad.bottom;
  const step = (width - pad.left - pad.right) / Math.max(buckets.length - 1, 1);
  const xOf = (i) => pad.left + (buckets.length === 1 ? (width - pad.left - pad.right) / 2 : i * step);
  const every = Math.ceil(buckets.length / 8);
  buckets.forEach((b, i) => {
    if (i % every === 0) root.append(svg("text", { x: xOf(i), y: height - pad.bottom + 16, "text-anchor": "middle", "font-size": 11, fill: "#5f6b7a" }, b.slice(5)));
  });
  lines.forEach((line, k) => {
    const color = COLORS[k % COLORS.length];
    const pts = line.points.map((p) => [buckets.indexOf(p.x), p.y]).filter(([i, y]) => i >= 0 && y != null);
    if (pts.length > 1) {
      root.append(svg("polyline", { fill: "none", stroke: color, "stroke-width": 2,
        points: pts.map(([i, y]) => `${xOf(i)},${pad.top + plotH * (1 - y)}`).join(" ") }));
    }
    for (const [i, y] of pts) {
      const dot = svg("circle", { cx: xOf(i), cy: pad.top + plotH * (1 - y), r: 3.5, fill: color, class: "point",
        "data-line": line.key, "data-bucket": buckets[i], "data-rate": y.toFixed(4) });
      dot.append(svg("title", {}, `${line.label} ${buckets[i]}：${(y * 100).toFixed(1)}%`));
      root.append(dot);
    }
  });
  if (!buckets.length) root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", fill: "#5f6b7a" }, "本期无已到期时限"));
  return root;
}
