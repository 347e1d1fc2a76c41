// One incident in full (posts, routing reasons, clocks, timeline) and the commands the API offers.
import {
  api, el, safeHref, fmtDateTime, clockNode, severityBadge, formDialog, toast,
  STATUS_LABELS, CHANNEL_LABELS, RESPONSE_KIND_LABELS, SEVERITIES,
} from "/ui/app.js";

const KIND_LABELS = {
  created: "生成事项", post_attached: "新增帖文", stage: "阶段变更", stage_changed: "阶段变更", assess: "研判",
  assessed: "研判", dismiss: "排除", dismissed: "排除", regrade: "调整等级", regraded: "调整等级", reroute: "改派",
  rerouted: "改派", consult: "会商", consulted: "会商", accept: "签收", accepted: "签收", transfer: "转办",
  transferred: "转办", transfer_accepted: "接收转办", transfer_rejected: "退回转办", handling: "处置",
  response: "回应", evaluate: "评估", evaluated: "评估", reopen: "重新打开", reopened: "重新打开", merge: "合并",
  merged: "合并", escalation: "升级", deadline_warning: "时限预警", deadline_missed: "时限超时",
};

const sevOptions = SEVERITIES.map((s) => [s, s]);
const channelOptions = Object.entries(CHANNEL_LABELS);
const kindOptions = Object.entries(RESPONSE_KIND_LABELS);

// action id -> [button label, handler(incident) -> Promise]
const ACTIONS = {
  assess: ["确认研判", (inc) => formDialog("研判：确认或更正", [
    { name: "severity", label: "严重程度", type: "select", options: [["", "（不变）"], ...sevOptions], value: inc.severity || "" },
    { name: "unit_id", label: "责任单位（不填则不变）", type: "unit" },
    { name: "reason", label: "研判意见", type: "textarea" },
  ], (v) => command(inc, "assess", { severity: v.severity || null, unit_id: v.unit_id || null, reason: v.reason }))],
  regrade: ["调整等级", (inc) => formDialog("调整严重程度", [
    { name: "severity", label: "严重程度", type: "select", options: sevOptions, value: inc.severity || "一般" },
    { name: "reason", label: "理由", type: "textarea", required: true },
  ], (v) => command(inc, "regrade", v))],
  reroute: ["改派", (inc) => formDialog("改派责任单位", [
    { name: "unit_id", label: "新的责任单位", type: "unit", required: true },
    { name: "reason", label: "理由", type: "textarea", required: true },
  ], (v) => command(inc, "reroute", v))],
  consult: ["发起会商", (inc) => formDialog("会商", [
    { name: "participants", label: "参会单位（编号，逗号分隔）", value: [inc.unit_id, ...inc.co_unit_ids].join(","), required: true },
    { name: "lead_unit_id", label: "牵头单位", type: "unit", value: inc.lead_unit_id || inc.unit_id, required: true },
    { name: "decision", label: "会商结论", type: "textarea", required: true },
  ], (v) => command(inc, "consult", {
    participants: v.participants.split(/[,，\s]+/).filter(Boolean), lead_unit_id: v.lead_unit_id, decision: v.decision,
  }))],
  dismiss: ["排除", (inc) => formDialog("排除：不属于政务舆情", [
    { name: "reason", label: "理由", type: "textarea", required: true },
  ], (v) => command(inc, "dismiss", v))],
  merge: ["合并", (inc) => formDialog("合并到另一事项", [
    { name: "into_id", label: "目标事项编号", required: true },
    { name: "reason", label: "理由", type: "textarea", required: true },
  ], (v) => command(inc, "merge", v))],
  accept: ["签收", (inc) => command(inc, "accept")],
  transfer: ["转办", (inc) => formDialog("转办（须对方接收）", [
    { name: "to_unit_id", label: "转给", type: "unit", required: true },
    { name: "reason", label: "理由", type: "textarea", required: true },
  ], (v) => command(inc, "transfer", v))],
  transfer_accept: ["接收转办", (inc) => command(inc, "transfer/accept")],
  transfer_reject: ["退回转办", (inc) => formDialog("退回转办", [
    { name: "reason", label: "理由", type: "textarea", required: true },
  ], (v) => command(inc, "transfer/reject", v))],
  handling: ["记录处置", (inc) => formDialog("记录处置措施", [
    { name: "action", label: "处置措施", type: "textarea", required: true },
  ], (v) => command(inc, "handling", v))],
  responses: ["发布回应", (inc) => formDialog("记录回应", [
    { name: "kind", label: "类别", type: "select", options: kindOptions },
    { name: "channel", label: "发布渠道", type: "select", options: channelOptions },
    { name: "link", label: "链接（可选）", type: "url" },
    { name: "content", label: "回应内容", type: "textarea", required: true },
  ], (v) => command(inc, "responses", { kind: v.kind, channel: v.channel, content: v.content, link: v.link || null }))],
  evaluate: ["评估办结", (inc) => formDialog("评估处置效果", [
    { name: "effect", label: "效果评估", type: "textarea", required: true },
    { name: "score", label: "评分（0–100，可选）", type: "number" },
  ], (v) => command(inc, "evaluate", { effect: v.effect, score: v.score === "" ? null : Number(v.score) }))],
  reopen: ["重新打开", (inc) => formDialog("重新打开", [
    { name: "reason", label: "理由", type: "textarea", required: true },
  ], (v) => command(inc, "reopen", v))],
};

let onChanged = () => {};
export function setOnChanged(fn) { onChanged = fn; }

async function command(inc, path, body) {
  const updated = await api(`/api/incidents/${encodeURIComponent(inc.id)}/${path}`, { method: "POST", body: body || {} });
  toast("已提交");
  onChanged(updated);
  return updated;
}

export async function loadDetail(id) {
  return api(`/api/incidents/${encodeURIComponent(id)}`);
}

export function renderDetail(pane, inc) {
  if (!inc) { pane.replaceChildren(el("div", { class: "empty" }, "选择左侧事项查看详情")); return; }
  const current = inc.decisions.find((d) => d.current) || inc.decisions[inc.decisions.length - 1];
  const actions = el("div", { class: "actions" }, inc.actions.filter((a) => ACTIONS[a]).map((a) =>
    el("button", { class: a === "accept" || a === "transfer_accept" ? "primary" : a === "dismiss" ? "danger" : null,
                   dataset: { action: a }, onclick: () => runAction(a, inc) }, ACTIONS[a][0])));
  pane.replaceChildren(el("div", { class: "detail", dataset: { id: inc.id } },
    el("h2", {}, severityBadge(inc.severity), " ", inc.title),
    el("div", { class: "sub" }, `编号 ${inc.id} · ${inc.stage} · ${STATUS_LABELS[inc.status] || inc.status}`),
    inc.pending_transfer ? el("p", {}, el("span", { class: "badge transfer" }, "转办待接收"),
      ` 转给 ${inc.pending_transfer.to_unit_name}：${inc.pending_transfer.reason || ""}`) : null,
    actions,
    el("dl", {},
      el("dt", {}, "地点"), el("dd", {}, inc.place_name),
      el("dt", {}, "领域"), el("dd", {}, inc.field_name || "未识别"),
      el("dt", {}, "责任单位"), el("dd", { class: "unit" }, inc.unit_name),
      inc.lead_unit_name ? [el("dt", {}, "牵头单位"), el("dd", {}, inc.lead_unit_name)] : null,
      el("dt", {}, "发现时间"), el("dd", {}, fmtDateTime(inc.detected_at)),
      el("dt", {}, "帖文数"), el("dd", {}, String(inc.post_count))),
    el("h3", {}, "回应时限"),
    inc.clocks.length ? el("div", {}, inc.clocks.map(clockNode)) : el("div", { class: "sub" }, "无"),
    el("h3", {}, "派单依据"),
    current ? el("div", {},
      el("div", { class: "sub" }, `规则 ${current.rule} · ${current.unit_name}` + (current.confidence != null ? ` · 置信度 ${current.confidence.toFixed(2)}` : "")),
      el("ul", { class: "reasons" }, current.reasons.map((r) => el("li", {}, r)))) : el("div", { class: "sub" }, "无"),
    el("h3", {}, `帖文（${inc.posts.length}）`),
    inc.posts.map((p) => {
      const href = p.url ? safeHref(p.url) : null;
      return el("div", { class: "post" },
        el("div", { class: "sub" }, `${p.source} · ${p.channel || ""} · ${fmtDateTime(p.published_at || p.fetched_at)}`,
          href ? [" · ", el("a", { href, target: "_blank", rel: "noopener noreferrer" }, "原文")] : null),
        p.title ? el("div", { class: "title" }, p.title) : null,
        el("div", { class: "text" }, p.text),
        p.reply_text ? el("div", { class: "sub" }, "官方回复：", p.reply_text) : null);
    }),
    inc.responses.length ? [el("h3", {}, "已发布回应"), inc.responses.map((r) => el("div", { class: "post response" },
      el("div", { class: "sub" }, `${RESPONSE_KIND_LABELS[r.kind] || r.kind} · ${CHANNEL_LABELS[r.channel] || r.channel} · ${fmtDateTime(r.published_at)}`),
      el("div", { class: "text" }, r.content)))] : null,
    el("h3", {}, "时间线"),
    el("ul", { class: "timeline" }, inc.timeline.map((t) => el("li", {},
      el("span", { class: "sub" }, fmtDateTime(t.at) + " · " + t.actor + " "),
      KIND_LABELS[t.kind] || t.kind,
      t.from_stage || t.to_stage ? ` ${t.from_stage || ""}→${t.to_stage || ""}` : "",
      t.reason ? "：" + t.reason : "")))));
}

function runAction(action, inc) {
  const result = ACTIONS[action][1](inc);
  if (result && typeof result.catch === "function") result.catch((err) => toast(err.detail || String(err)));
}
