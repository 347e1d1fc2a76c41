// Log in with the session cookie, then go to the page of the user's role.
import { api, homeFor } from "/ui/app.js";

const form = document.getElementById("login");
const error = document.getElementById("error");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  error.textContent = "";
  try {
    const me = await api("/api/auth/login", { method: "POST", form: { username: form.username.value.trim(), password: form.password.value } });
    location.href = homeFor(me.role);
  } catch (err) {
    error.textContent = err.detail || "登录失败";
  }
});
