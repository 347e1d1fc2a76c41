// 时效看板: on-time rates per unit and tier, their trend, overdue items, and the Excel export.
import { api, el, startPage, connectStream, debounce, fmtDateTime, fmtDuration } from "/ui/app.js";
import { barChart, lineChart, COLORS } from "/ui/chart.js";

const TIERS = [["", "全部层级"], ["province", "省级"], ["city", "市级"], ["county", "县级"], ["township", "乡级"], ["village", "村级"]];
const DAY = 86400000;

function localDate(ms) { return new Date(ms + 8 * 3600000).toISOString().slice(0, 10); } // Asia/Shanghai
function startOf(date) { return `${date}T00:00:00+08:00`; }
function pct(rate) { return rate == null ? "—" : (rate * 100).toFixed(1) + "%"; }
function hours(s) { return s == null ? "—" : fmtDuration(s); }

await startPage();
const today = localDate(Date.now());
const from = el("input", { type: "date", id: "f-from", value: localDate(Date.now() - 29 * DAY) });
const to = el("input", { type: "date", id: "f-to", value: today });
const tier = el("select", { id: "f-tier" }, TIERS.map(([v, l]) => el("option", { value: v }, l)));
const exportLink = el("a", { id: "export", class: "btn primary", href: "#", download: "" }, "导出 Excel");
const quick = [7, 30, 90].map((d) => el("button", { type: "button", onclick: () => {
  from.value = localDate(Date.now() - (d - 1) * DAY); to.value = localDate(Date.now()); refresh();
} }, `近${d}天`));
const cards = el("div", { class: "cards", id: "cards" });
const bars = el("div", { class: "chart", id: "chart-units" });
const trend = el("div", { class: "chart", id: "chart-trend" });
const tierTable = el("div", { class: "pane", id: "tiers" });
const unitTable = el("div", { class: "pane", id: "units" });
const overdue = el("div", { class: "pane", id: "overdue" });
const updated = el("span", { class: "sub", id: "updated" });
document.body.append(el("main", {},
  el("div", { class: "toolbar" }, el("h1", {}, "时效看板"), el("label", {}, "统计区间"), from, "至", to, quick,
    el("label", {}, "层级"), tier, exportLink, updated),
  cards, el("div", { class: "charts" }, bars, trend),
  el("h3", {}, "各单位明细"), unitTable,
  el("div", { class: "tables" }, el("div", {}, el("h3", {}, "各层级汇总"), tierTable), el("div", {}, el("h3", {}, "超时事项"), overdue))));

function params() {
  const p = new URLSearchParams({ from: startOf(from.value), to: startOf(localDate(Date.parse(startOf(to.value)) + DAY)) });
  if (tier.value) p.set("tier", tier.value);
  return p;
}

function statTable(rows, kinds, id) {
  const head = ["名称", "事项", ...Object.values(kinds).map((k) => k.replace(/内.*$/, "") + "按时率"), "首次回应中位", "P90", "超时", "升级", "办结率", "转出", "转入"];
  return el("table", { class: "list", id }, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", { dataset: { key: r.key } },
      el("td", {}, r.name, r.tier_label && r.tier_label !== r.name ? el("div", { class: "sub" }, r.tier_label) : null),
      el("td", { class: "num" }, String(r.incidents)),
      Object.keys(kinds).map((k) => el("td", { class: "num", dataset: { kind: k } }, pct(r.clocks[k].on_time_rate))),
      el("td", { class: "num" }, hours(r.first_response_median_s)), el("td", { class: "num" }, hours(r.first_response_p90_s)),
      el("td", { class: "num" }, String(r.overdue)), el("td", { class: "num" }, String(r.escalated)),
      el("td", { class: "num closure" }, pct(r.closure_rate)),
      el("td", { class: "num" }, String(r.transfers_out)), el("td", { class: "num" }, String(r.transfers_in))))));
}

function legend(items) {
  return el("div", { class: "legend" }, items.map(([label], i) => {
    const swatch = el("i");
    swatch.style.background = COLORS[i % COLORS.length];
    return el("span", {}, swatch, label);
  }));
}

async function refresh() {
  const p = params();
  exportLink.href = "/api/reports/timeliness.xlsx?" + p;
  const r = await api("/api/reports/timeliness?" + p);
  const t = r.total;
  const kinds = r.clock_kinds;
  cards.replaceChildren(
    card("事项", String(t.incidents), "incidents"),
    ...Object.entries(kinds).map(([k, label]) => card(label.replace(/内.*$/, "") + " 按时率", pct(t.clocks[k].on_time_rate), "rate-" + k)),
    card("首次回应中位数", hours(t.first_response_median_s), "median"),
    card("超时", String(t.overdue), "overdue"), card("升级", String(t.escalated), "escalated"),
    card("事事有回音办结率", pct(t.closure_rate), "closure"), card("转办", String(t.transfers_out), "transfers"));
  const series = Object.entries(kinds);
  const groups = [...r.units].sort((a, b) => b.incidents - a.incidents).slice(0, 14).map((u) => ({
    key: u.key, label: u.name, values: Object.fromEntries(series.map(([k]) => [k, u.clocks[k].on_time_rate])),
  }));
  bars.replaceChildren(el("h3", {}, "各单位按时率"), legend(series.map(([, l]) => [l])), barChart(groups, series));
  const buckets = [...new Set(r.trend.map((p) => p.bucket))].sort();
  const lineKeys = [...new Set(r.trend.map((p) => p.tier))];
  const lines = lineKeys.map((k) => ({
    key: k, label: k === "all" ? "全部" : (TIERS.find(([v]) => v === k) || [k, k])[1],
    points: r.trend.filter((p) => p.tier === k).map((p) => ({ x: p.bucket, y: p.on_time_rate })),
  }));
  trend.replaceChildren(el("h3", {}, "按时率趋势（按截止日）"), legend(lines.map((l) => [l.label])), lineChart(lines, buckets));
  unitTable.replaceChildren(statTable(r.units, kinds, "unit-table"));
  tierTable.replaceChildren(statTable([...r.tiers, r.total], kinds, "tier-table"));
  overdue.replaceChildren(r.overdue.length ? el("table", { class: "list", id: "overdue-table" },
    el("thead", {}, el("tr", {}, ["事项", "单位", "时限", "截止", "超时"].map((h) => el("th", {}, h)))),
    el("tbody", {}, r.overdue.map((o) => el("tr", {},
      el("td", {}, o.title, el("div", { class: "sub" }, o.incident_id)), el("td", {}, o.unit_name), el("td", {}, o.label),
      el("td", {}, fmtDateTime(o.due_at)), el("td", { class: "num" }, fmtDuration(o.overdue_s))))))
    : el("div", { class: "empty" }, "本期无超时事项"));
  updated.textContent = "更新于 " + fmtDateTime(r.generated_at);
}

function card(label, value, id) {
  return el("div", { class: "card", id: "card-" + id }, el("div", { class: "k" }, label), el("div", { class: "v" }, value));
}

for (const f of [from, to, tier]) f.addEventListener("change", refresh);
const refreshSoon = debounce(refresh, 800);
connectStream(refreshSoon, refreshSoon);
setInterval(refresh, 60000);
await refresh();
