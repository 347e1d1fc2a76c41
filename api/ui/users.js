// 账号管理 (admin): list accounts, create one, deactivate or reactivate.
import { api, el, startPage, formDialog, toast, ROLE_LABELS } from "/ui/app.js";

await startPage();
const tbody = el("tbody", { id: "user-rows" });
document.body.append(el("main", {},
  el("div", { class: "toolbar" }, el("h1", {}, "账号管理"),
    el("button", { class: "primary", id: "add-user", onclick: addUser }, "新建账号")),
  el("section", { class: "pane" }, el("table", { class: "list" },
    el("thead", {}, el("tr", {}, ["用户名", "显示名", "角色", "单位", "状态", ""].map((h) => el("th", {}, h)))), tbody))));

async function refresh() {
  const users = await api("/api/users");
  tbody.replaceChildren(...users.map((u) => el("tr", { dataset: { username: u.username } },
    el("td", {}, u.username), el("td", {}, u.display_name || ""), el("td", {}, ROLE_LABELS[u.role] || u.role),
    el("td", {}, u.unit_name, el("div", { class: "sub" }, u.unit_id)), el("td", {}, u.active ? "启用" : "停用"),
    el("td", {}, el("button", { onclick: () => toggle(u) }, u.active ? "停用" : "启用")))));
}

async function toggle(u) {
  try { await api(`/api/users/${encodeURIComponent(u.username)}`, { method: "PATCH", body: { active: !u.active } }); await refresh(); }
  catch (err) { toast(err.detail || String(err)); }
}

function addUser() {
  formDialog("新建账号", [
    { name: "username", label: "用户名", required: true },
    { name: "display_name", label: "显示名" },
    { name: "password", label: "初始密码（至少 8 位）", type: "password", required: true },
    { name: "role", label: "角色", type: "select", options: Object.entries(ROLE_LABELS) },
    { name: "unit_id", label: "单位", type: "unit", required: true },
  ], async (v) => {
    await api("/api/users", { method: "POST", body: { ...v, display_name: v.display_name || null } });
    toast("已创建");
    await refresh();
  });
}

await refresh();
