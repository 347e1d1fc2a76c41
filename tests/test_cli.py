"""The ``huiyin`` command: help, configuration errors at start-up, schema upgrade."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def huiyin(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "huiyin.api.cli", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120
    )


def test_help_lists_commands() -> None:
    out = huiyin("--help")
    assert out.returncode == 0
    for command in ("db", "org"):
        assert command in out.stdout


def test_invalid_environment_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    out = huiyin("db", "upgrade", env={"HUIYIN_BUS": "rabbitmq"}, cwd=tmp_path)
    assert out.returncode == 2
    assert "HUIYIN_BUS" in out.stderr and "bus" in out.stderr


def test_invalid_yaml_stops_start_up_naming_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("api:\n  port: 99999\n", encoding="utf-8")
    out = huiyin("--config-dir", str(tmp_path), "db", "upgrade", cwd=tmp_path)
    assert out.returncode == 2
    assert "api.port" in out.stderr and str(tmp_path / "settings.yaml") in out.stderr


def test_db_upgrade_creates_the_default_sqlite_file(tmp_path: Path) -> None:
    out = huiyin("db", "upgrade", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "var" / "huiyin.db").exists()
    assert "0001" in out.stdout or "schema at" in out.stdout


def test_run_once_crawls_the_demo_and_stores_incidents(tmp_path: Path) -> None:
    """The quick start's main job, once: demo sources → router → responder → clocks, on SQLite."""
    import json
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = subprocess.run(
        [sys.executable, "-m", "huiyin.api.cli", "run", "--once"], capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")},
             "HUIYIN_DATA_DIR": str(tmp_path / "data"), "HUIYIN_CRAWLER__DEMO_URL": f"http://127.0.0.1:{port}"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    statuses = {name: s["status"] for name, s in summary["sources"].items()}
    assert statuses.pop("shuangqiao-wenzheng") == "blocked"  # the captcha-walled demo board
    assert set(statuses.values()) == {"ok"} and len(statuses) >= 4
    assert sum(s["new"] for s in summary["sources"].values()) > 40 and summary["incidents"] > 30
    assert set(summary["clock_check"]) == {"warned", "missed", "at"}
    assert (tmp_path / "data" / "huiyin.db").exists() or any((tmp_path / "data").glob("*.db"))
