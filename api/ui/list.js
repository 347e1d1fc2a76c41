// The queue (publicity) and the inbox (unit): a live list on the left, one incident on the right.
import {
  api, el, startPage, connectStream, debounce, clockNode, severityBadge, fmtTime, toast,
  SEVERITIES, STAGES, STATUS_LABELS,
} from "/ui/app.js";
import { loadDetail, renderDetail, setOnChanged } from "/ui/incident.js";

export async function listPage({ heading, emptyText }) {
  await startPage();
  const fresh = new Set();
  let selected = new URLSearchParams(location.search).get("id");

  const stage = el("select", { id: "f-stage" }, el("option", { value: "" }, "全部阶段"), STAGES.map((s) => el("option", { value: s }, s)));
  const severity = el("select", { id: "f-severity" }, el("option", { value: "" }, "全部等级"), SEVERITIES.map((s) => el("option", { value: s }, s)));
  const status = el("select", { id: "f-status" }, el("option", { value: "open" }, "办理中"), el("option", { value: "" }, "全部"),
    el("option", { value: "closed" }, "已办结"));
  const count = el("span", { class: "sub", id: "count" });
  const tbody = el("tbody", { id: "rows" });
  const detail = el("section", { class: "pane", id: "detail" });
  document.body.append(el("main", {},
    el("div", { class: "toolbar" }, el("h1", {}, heading), el("label", {}, "阶段"), stage, el("label", {}, "等级"), severity,
      el("label", {}, "状态"), status, count),
    el("div", { class: "split" },
      el("section", { class: "pane" }, el("table", { class: "list" },
        el("thead", {}, el("tr", {}, el("th", {}, "等级"), el("th", {}, "事项 · 地点 · 派单理由"), el("th", {}, "责任单位"),
          el("th", {}, "时限"), el("th", {}, "阶段"))), tbody)),
      detail)));
  renderDetail(detail, null);

  async function refresh() {
    const params = new URLSearchParams({ limit: "200" });
    if (stage.value) params.set("stage", stage.value);
    if (severity.value) params.set("severity", severity.value);
    if (status.value) params.set("status", status.value);
    const data = await api("/api/incidents?" + params);
    count.textContent = `共 ${data.total} 件`;
    if (!data.items.length) { tbody.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "empty" }, emptyText))); return; }
    tbody.replaceChildren(...data.items.map((inc) => row(inc)));
  }

  function row(inc) {
    const isNew = fresh.has(inc.id);
    return el("tr", {
      class: "item" + (inc.id === selected ? " selected" : "") + (isNew ? " fresh" : ""), dataset: { id: inc.id },
      onclick: () => select(inc.id),
    },
      el("td", {}, severityBadge(inc.severity), isNew ? el("span", { class: "badge new" }, "新") : null),
      el("td", {},
        el("div", { class: "title" }, inc.title),
        el("div", { class: "sub place" }, inc.place_name + (inc.field_name ? " · " + inc.field_name : "") + " · " + fmtTime(inc.detected_at)),
        inc.routing_reasons.length ? el("ul", { class: "reasons" }, inc.routing_reasons.slice(0, 3).map((r) => el("li", {}, r))) : null),
      el("td", { class: "unit" }, inc.unit_name,
        inc.pending_transfer ? el("div", {}, el("span", { class: "badge transfer" }, "转办→" + inc.pending_transfer.to_unit_name)) : null),
      el("td", {}, inc.clocks.filter((c) => c.status !== "cancelled").map(clockNode)),
      el("td", {}, el("span", { class: "badge stage" }, inc.stage), el("div", { class: "sub" }, STATUS_LABELS[inc.status] || inc.status)));
  }

  async function select(id) {
    selected = id;
    fresh.delete(id);
    tbody.querySelectorAll("tr.item").forEach((tr) => tr.classList.toggle("selected", tr.dataset.id === id));
    history.replaceState(null, "", "?id=" + encodeURIComponent(id));
    try { renderDetail(detail, await loadDetail(id)); }
    catch (err) { renderDetail(detail, null); if (err.status !== 404) toast(err.detail || String(err)); }
  }

  setOnChanged((inc) => { renderDetail(detail, inc); refresh(); });
  for (const f of [stage, severity, status]) f.addEventListener("change", refresh);
  const refreshSoon = debounce(refresh, 300);
  connectStream((event) => {
    if (event.type === "created") fresh.add(event.incident_id);
    refreshSoon();
    if (event.incident_id === selected) select(selected);
  }, refreshSoon);
  setInterval(refresh, 60000); // a safety net if the stream is down
  await refresh();
  if (selected) await select(selected);
}
