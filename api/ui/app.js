// 回音 dashboard: shared helpers. Text from the API is only ever put into the page with
// textContent (through el()), never as HTML, so a crawled post cannot inject markup or script.

export const ROLE_LABELS = { publicity: "宣传部门", unit: "责任单位", leader: "领导", admin: "管理员" };
export const STATUS_LABELS = { open: "办理中", closed: "已办结", merged: "已合并" };
export const CHANNEL_LABELS = { website: "政府网站", new_media: "政务新媒体", press_conference: "新闻发布会", media_interview: "媒体采访" };
export const RESPONSE_KIND_LABELS = { response: "回应", authoritative_info: "权威信息", press_conference: "新闻发布会", clarification: "澄清辟谣" };
export const SEVERITIES = ["特别重大", "重大", "较大", "一般"];
export const STAGES = ["收集", "研判", "会商", "处置", "回应", "评估"];
const TZ = "Asia/Shanghai";

let serverOffsetMs = 0; // server clock minus browser clock, from the API's "now"

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function safeHref(url) {
  // Only http(s) links: a crawled "javascript:" URL must not become clickable.
  try {
    const u = new URL(url, location.origin);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch { return null; }
}

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; this.detail = detail; }
}

export async function api(path, { method = "GET", body, form } = {}) {
  const headers = { "X-Huiyin-Client": "web", Accept: "application/json" };
  let payload;
  if (form) { payload = new URLSearchParams(form); headers["Content-Type"] = "application/x-www-form-urlencoded"; }
  else if (body !== undefined) { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  if (res.status === 401 && !path.startsWith("/api/auth/login")) { location.href = "/login"; throw new ApiError(401, "未登录"); }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    let detail = data && data.detail !== undefined ? data.detail : `请求失败（${res.status}）`;
    if (Array.isArray(detail)) detail = "输入有误：" + detail.map((d) => (d.loc || []).slice(-1)[0] + " " + d.msg).join("；");
    throw new ApiError(res.status, String(detail));
  }
  if (data && data.now) serverOffsetMs = Date.parse(data.now) - Date.now();
  return data;
}

export function serverNow() { return Date.now() + serverOffsetMs; }

const timeFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
const dateFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
export function fmtTime(iso) { return iso ? timeFmt.format(new Date(iso)) : "—"; }
export function fmtDateTime(iso) { return iso ? dateFmt.format(new Date(iso)) : "—"; }

export function fmtDuration(seconds) {
  const s = Math.abs(Math.round(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}天${h}小时`;
  if (h) return `${h}小时${m}分`;
  return `${m}分${s % 60}秒`;
}

export function clockNode(c) {
  // One legal clock: label and time left, kept current by tickClocks().
  const node = el("span", { class: "clock", dataset: { due: c.due_at, status: c.status } },
    c.label + "：", el("span", { class: "left" }));
  renderClock(node);
  return node;
}

function renderClock(node) {
  const left = node.querySelector(".left");
  const status = node.dataset.status;
  if (status === "met") { node.className = "clock done"; left.textContent = "已完成"; return; }
  if (status === "cancelled") { node.className = "clock done"; left.textContent = "已取消"; return; }
  const secs = (Date.parse(node.dataset.due) - serverNow()) / 1000;
  if (status === "missed" || secs < 0) { node.className = "clock bad"; left.textContent = "已超时 " + fmtDuration(secs); return; }
  node.className = "clock " + (secs < 3600 ? "warn" : "ok");
  left.textContent = "剩 " + fmtDuration(secs);
}

export function tickClocks() { document.querySelectorAll(".clock[data-due]").forEach(renderClock); }
setInterval(tickClocks, 1000);

export function severityBadge(sev) {
  return el("span", { class: "badge sev-" + (sev || "none") }, sev || "未定级");
}

let toastTimer;
export function toast(message) {
  let node = document.querySelector(".toast");
  if (!node) { node = el("div", { class: "toast", role: "status" }); document.body.append(node); }
  node.textContent = message;
  node.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.classList.remove("show"), 3000);
}

const NAV = [
  { href: "/queue", label: "告警队列", roles: ["publicity", "admin"] },
  { href: "/inbox", label: "待办", roles: ["unit", "admin"] },
  { href: "/board", label: "时效看板", roles: ["leader", "publicity", "admin", "unit"] },
  { href: "/users", label: "账号", roles: ["admin"] },
];

export function homeFor(role) {
  return { publicity: "/queue", unit: "/inbox", leader: "/board", admin: "/queue" }[role] || "/board";
}

export async function startPage() {
  // Load the user, draw the header; returns the user.
  const me = await api("/api/auth/me");
  const nav = el("nav", {}, NAV.filter((n) => n.roles.includes(me.role)).map((n) =>
    el("a", { href: n.href, class: location.pathname === n.href ? "active" : null }, n.label)));
  const live = el("span", { class: "live off", id: "live", hidden: true }, "实时");
  const header = el("header", { class: "top" },
    el("span", { class: "brand" }, "回音"), nav, live,
    el("span", { class: "who", id: "who" }, `${me.display_name || me.username} · ${ROLE_LABELS[me.role]} · ${me.unit_name}`),
    el("button", { id: "logout", onclick: async () => { await api("/api/auth/logout", { method: "POST" }); location.href = "/login"; } }, "退出"));
  document.body.prepend(header);
  return me;
}

export function connectStream(onEvent, onReady) {
  // Live changes over Server-Sent Events; the browser reconnects by itself.
  const live = document.getElementById("live");
  if (live) live.hidden = false;
  const source = new EventSource("/api/stream");
  source.addEventListener("ready", () => { if (live) { live.className = "live on"; live.textContent = "实时"; } onReady && onReady(); });
  source.addEventListener("incident", (e) => onEvent(JSON.parse(e.data)));
  source.addEventListener("resync", () => onReady && onReady());
  source.onerror = () => { if (live) { live.className = "live off"; live.textContent = "重连中"; } };
  return source;
}

export function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

// -- forms in a <dialog> -----------------------------------------------------------------------

export function formDialog(title, fields, submit) {
  // fields: [{name, label, type: text|textarea|select|unit|datetime, options, required, value}]
  const error = el("div", { class: "error", role: "alert" });
  const inputs = {};
  const rows = fields.map((f) => {
    let input;
    if (f.type === "textarea") input = el("textarea", { name: f.name, required: f.required });
    else if (f.type === "select") input = el("select", { name: f.name },
      (f.options || []).map(([v, l]) => el("option", { value: v }, l)));
    else if (f.type === "unit") input = unitPicker(f.name);
    else input = el("input", { name: f.name, type: f.type || "text", required: f.required });
    if (f.value !== undefined && f.value !== null) input.value = f.value;
    inputs[f.name] = input;
    return el("label", { class: "row" }, el("span", {}, f.label + (f.required ? " *" : "")), input);
  });
  const dialog = el("dialog", { class: "form" });
  const ok = el("button", { class: "primary", type: "submit" }, "提交");
  const form = el("form", { method: "dialog" }, el("h3", {}, title), rows, error,
    el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => dialog.close() }, "取消"), ok));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = {};
    for (const [k, input] of Object.entries(inputs)) values[k] = input.value.trim();
    ok.disabled = true;
    try { await submit(values); dialog.close(); }
    catch (err) { error.textContent = err.detail || String(err); }
    finally { ok.disabled = false; }
  });
  dialog.append(form);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

let pickerSeq = 0;
function unitPicker(name) {
  // A text input that suggests units of the org directory; its value is the unit id.
  const id = "units-" + (++pickerSeq);
  const list = el("datalist", { id });
  const input = el("input", { name, list: id, placeholder: "输入单位名称或编号搜索，如 正定县住房", autocomplete: "off" });
  const search = debounce(async () => {
    const q = input.value.trim();
    if (q.length < 2) return;
    const found = await api("/api/org?limit=20&q=" + encodeURIComponent(q));
    list.replaceChildren(...found.units.map((u) => el("option", { value: u.id }, `${u.name}（${u.tier_label}）`)));
  }, 250);
  input.addEventListener("input", search);
  const wrap = el("span", {}, input, list);
  Object.defineProperty(wrap, "value", { get: () => input.value, set: (v) => { input.value = v; } });
  return wrap;
}
