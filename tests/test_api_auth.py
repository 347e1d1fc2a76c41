"""Logging in: tokens, the browser's cookie session, throttling, secrets, accounts and the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from huiyin.api.app import create_app
from huiyin.api.security import TokenService, with_demo_secret
from huiyin.api.users import create_demo_users
from huiyin.config.errors import ConfigError
from huiyin.config.settings import load_settings
from huiyin.responder.store import open_database
from tests.api_support import PASSWORD, SECRET, Stack, api_settings, api_stack, free_port, org_of, routed_post

USERS = {
    "pub_city": ("publicity", "130100.publicity"),
    "unit_a": ("unit", "130123.education"),
    "admin": ("admin", "130000.publicity"),
}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with api_stack(api_settings(tmp_path, login_attempts_per_minute=3), users=USERS) as s:
        yield s


def login(stack: Stack, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{stack.url}/api/auth/token", data={"username": username, "password": password})


def test_password_flow_gives_a_bearer_token(stack: Stack) -> None:
    r = login(stack, "pub_city", PASSWORD)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == stack.settings.api.token_ttl_s
    me = httpx.get(f"{stack.url}/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert (me["username"], me["role"], me["unit_id"], me["unit_name"]) == (
        "pub_city", "publicity", "130100.publicity", stack.org.unit("130100.publicity").name)


def test_wrong_password_and_unknown_user_get_the_same_answer(stack: Stack) -> None:
    wrong, unknown = login(stack, "pub_city", "nope-nope"), login(stack, "nobody", "nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "用户名或密码错误"}


def test_failed_logins_are_throttled_per_user_and_address(stack: Stack) -> None:
    for _ in range(3):
        assert login(stack, "unit_a", "wrong-password").status_code == 401
    blocked = login(stack, "unit_a", PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "秒后再试" in blocked.json()["detail"]
    assert login(stack, "pub_city", PASSWORD).status_code == 200  # another account is not affected


def test_bad_tokens_are_401(stack: Stack) -> None:
    good = stack.token("pub_city")
    forged = jwt.encode({"sub": "admin", "iss": "huiyin", "iat": 0, "exp": 2**31}, "another-secret" * 4, algorithm="HS256")
    expired = TokenService(SECRET, 60).issue("pub_city", now=datetime.now(UTC) - timedelta(hours=1))
    unsigned = jwt.encode({"sub": "admin", "iss": "huiyin", "iat": 0, "exp": 2**31}, None, algorithm="none")
    for token in (good[:-3] + "abc", forged, expired, unsigned, "not-a-token"):
        r = httpx.get(f"{stack.url}/api/incidents", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert r.headers["www-authenticate"] == "Bearer"


def test_a_deactivated_account_is_locked_out_at_once(stack: Stack) -> None:
    with stack.client("unit_a") as unit, stack.client("admin") as admin:
        assert unit.get("/api/incidents").status_code == 200
        assert admin.patch("/api/users/unit_a", json={"active": False}).status_code == 200
        assert unit.get("/api/incidents").status_code == 401
        assert login(stack, "unit_a", PASSWORD).status_code == 401
        assert admin.patch("/api/users/admin", json={"active": False}).status_code == 409  # not yourself


def test_browser_session_cookie(stack: Stack) -> None:
    (x,) = stack.store(routed_post(title="t", text="t", unit_id="130123.education", jurisdiction_id="130123"))
    r = httpx.post(f"{stack.url}/api/auth/login", data={"username": "pub_city", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["role"] == "publicity"
    cookie = r.headers["set-cookie"]
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=strict" in flags
    assert "secure" in flags  # browsers keep Secure cookies on loopback (httpx does not: sent by hand below)
    session = cookie.split(";", 1)[0]
    assert session.startswith("huiyin_session=")
    with httpx.Client(base_url=stack.url, headers={"Cookie": session}) as browser:
        assert browser.get("/api/incidents").status_code == 200
        # A change needs the client header too: a cross-site form cannot send it.
        assert browser.post(f"/api/incidents/{x}/assess", json={"reason": "x"}).status_code == 403
        ok = browser.post(f"/api/incidents/{x}/assess", json={"reason": "x"}, headers={"X-Huiyin-Client": "web"})
        assert ok.status_code == 200
        out = browser.post("/api/auth/logout", headers={"X-Huiyin-Client": "web"})
        assert out.status_code == 204 and 'huiyin_session=""' in out.headers["set-cookie"]
    assert httpx.get(f"{stack.url}/api/incidents").status_code == 401


def test_pages_are_served_with_a_strict_content_security_policy(stack: Stack) -> None:
    for page in ("/login", "/queue", "/inbox", "/board", "/users", "/ui/app.js"):
        r = httpx.get(stack.url + page)
        assert r.status_code == 200, page
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(stack.url + "/").headers["location"] == "/login"
    assert httpx.get(stack.url + "/nothing-here").status_code == 404


def test_no_secret_no_server(tmp_path: Path) -> None:
    settings = load_settings(config_dir="", data_dir=tmp_path / "var")
    db = open_database(settings.db_url)
    try:
        org = org_of(settings)
        with pytest.raises(ConfigError, match="session_secret"):
            create_app(settings, db, org)
        weak = load_settings(config_dir="", data_dir=tmp_path / "var", api={"session_secret": "changeme"})
        with pytest.raises(ConfigError, match="session_secret"):
            create_app(weak, db, org)
        demo = with_demo_secret(settings)
        assert len(demo.api.session_secret) == 64 and with_demo_secret(settings).api.session_secret != demo.api.session_secret
        create_app(demo, db, org)
    finally:
        db.dispose()


def test_demo_users_one_per_role_with_random_passwords(tmp_path: Path) -> None:
    settings = api_settings(tmp_path)
    with api_stack(settings, users=None) as stack:
        accounts = create_demo_users(stack.db, stack.org, settings)
        assert sorted(role for _, _, role, _ in accounts) == ["admin", "leader", "publicity", "unit"]
        assert len({pw for _, pw, _, _ in accounts}) == 4 and all(len(pw) >= 12 for _, pw, _, _ in accounts)
        assert all(unit in stack.org.units for *_, unit in accounts)
        username, password, role, _ = accounts[0]
        assert login(stack, username, password).status_code == 200
        again = create_demo_users(stack.db, stack.org, settings)  # a restart prints new passwords that work
        assert login(stack, username, password).status_code == 401
        assert login(stack, again[0][0], again[0][1]).status_code == 200


def huiyin(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    env["HUIYIN_DATA_DIR"] = str(tmp_path / "var")
    return subprocess.run([sys.executable, "-m", "huiyin.api.cli", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=180)


def test_users_add_command(tmp_path: Path) -> None:
    out = huiyin(tmp_path, "users", "add", "--username", "zhangsan", "--password", "s3cret-pass",
                 "--unit", "130123.publicity", "--role", "publicity")
    assert out.returncode == 0, out.stderr
    assert "zhangsan" in out.stdout and "正定县" in out.stdout
    bad = huiyin(tmp_path, "users", "add", "--username", "lisi", "--password", "s3cret-pass",
                 "--unit", "999999.gov", "--role", "unit")
    assert bad.returncode == 1 and "999999.gov" in bad.stderr
    settings = load_settings(config_dir="", data_dir=tmp_path / "var", api={"session_secret": SECRET})
    with api_stack(settings, users=None) as stack:
        assert login(stack, "zhangsan", "s3cret-pass").status_code == 200
        from sqlalchemy import select

        from huiyin.responder.store.tables import User

        with stack.db.session() as session:
            stored = session.scalar(select(User.password_hash).where(User.username == "zhangsan"))
        assert stored.startswith("$argon2id$") and "s3cret" not in stored


def test_serve_command(tmp_path: Path) -> None:
    refused = huiyin(tmp_path, "serve", "--port", str(free_port()))
    assert refused.returncode == 2 and "HUIYIN_API__SESSION_SECRET" in refused.stderr

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    env.update(HUIYIN_DATA_DIR=str(tmp_path / "var"), HUIYIN_API__SESSION_SECRET=SECRET)
    server = subprocess.Popen([sys.executable, "-m", "huiyin.api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read() if server.stdout else ""
                time.sleep(0.2)
        assert health.json()["status"] == "ok" and health.json()["stream"] == "running"
        assert httpx.get(f"http://127.0.0.1:{port}/login").status_code == 200
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl+C: uvicorn shuts down, then exits as interrupted (130)
        assert server.wait(timeout=30) in (0, 130)
