"""Scheduling (one APScheduler job per source), the demo switch, and ``huiyin crawl``/``huiyin sources``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from huiyin.config.settings import load_settings
from huiyin.crawler.demo import DemoSite
from huiyin.crawler.schedule import demo_sources_active, schedule_sources, start_demo_site
from huiyin.crawler.sources import load_sources
from huiyin.responder.store import open_database
from huiyin.responder.store.tables import SourceHealth
from tests.crawler_support import demo_settings

REAL = {
    "name": "county-rss", "kind": "rss", "channel": "news", "start_urls": ["https://www.example.gov.cn/rss.xml"], "interval": "1h",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def user_sources(tmp_path: Path, *entries: dict) -> str:
    folder = tmp_path / "conf"
    folder.mkdir(exist_ok=True)
    (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": list(entries)}, allow_unicode=True), encoding="utf-8")
    return str(folder)


def test_demo_sources_are_active_only_when_no_real_source_is_configured(tmp_path: Path) -> None:
    shipped = load_settings(config_dir="", data_dir=tmp_path / "var")
    assert demo_sources_active(shipped)
    real = load_settings(config_dir=user_sources(tmp_path, REAL), data_dir=tmp_path / "var")
    assert not demo_sources_active(real) and start_demo_site(real) is None
    demo_entry = {**REAL, "name": "demo-rss", "start_urls": ["{demo}/news/rss.xml"]}
    mixed = load_settings(config_dir=user_sources(tmp_path, REAL, demo_entry), data_dir=tmp_path / "var")
    assert not demo_sources_active(mixed)
    disabled = load_settings(config_dir=user_sources(tmp_path, demo_entry, {**REAL, "enabled": False}), data_dir=tmp_path / "var")
    assert demo_sources_active(disabled)


def test_start_demo_site_serves_at_the_configured_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = load_settings(config_dir="", data_dir=tmp_path / "var", crawler={"demo_url": url})
    site = start_demo_site(settings)
    assert site is not None
    try:
        with urllib.request.urlopen(f"{url}/zhengding/liuyan/list?page=1", timeout=10) as response:
            assert "演示数据" in response.read().decode("gbk")
    finally:
        site.stop()


def test_one_job_per_enabled_source_and_a_scheduled_crawl_runs(tmp_path: Path) -> None:
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    with DemoSite() as site:
        settings = demo_settings(site, tmp_path / "var")
        ids = schedule_sources(scheduler, settings)
        assert ids == [f"crawl:{s.name}" for s in load_sources(settings)]
        intervals = {job.id: job.trigger.interval.total_seconds() for job in scheduler.get_jobs()}
        assert intervals["crawl:hebei-weibo"] == 300 and intervals["crawl:shijiazhuang-wenzheng"] == 900
        assert all(job.max_instances == 1 and job.coalesce for job in scheduler.get_jobs())
        for job_id in ids[1:]:
            scheduler.remove_job(job_id)  # let one source run for real
        scheduler.start()
        try:
            db = open_database(settings.db_url, upgrade=True)
            deadline = time.monotonic() + 120
            row = None
            while time.monotonic() < deadline and row is None:
                time.sleep(0.5)
                with db.session() as session:
                    row = session.scalar(select(SourceHealth).where(SourceHealth.source == "zhengding-liuyan"))
            db.dispose()
        finally:
            scheduler.shutdown(wait=True)
    assert row is not None and row.status == "ok" and row.last_items == 14


def huiyin(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")} | env
    return subprocess.run([sys.executable, "-m", "huiyin.api.cli", *args], capture_output=True, text=True, cwd=cwd, env=full, timeout=300)


def test_cli_crawl_and_sources(tmp_path: Path) -> None:
    with DemoSite() as site:
        env = {"HUIYIN_CRAWLER__DEMO_URL": site.url, "HUIYIN_CRAWLER__DOWNLOAD_DELAY_S": "0", "HUIYIN_CRAWLER__AUTOTHROTTLE": "false"}
        out = huiyin("crawl", "hebei-news-rss", "shuangqiao-wenzheng", cwd=tmp_path, env=env)
        assert out.returncode == 0, out.stderr[-3000:]
        summary = json.loads(out.stdout.strip().splitlines()[-1])
        assert (summary["new"], summary["updated"], summary["quarantined"]) == (9, 0, 0)
        assert [s["status"] for s in summary["sources"]] == ["ok", "blocked"]
        listing = huiyin("sources", cwd=tmp_path, env=env)
        assert listing.returncode == 0, listing.stderr[-3000:]
        lines = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
        assert " ok " in lines["hebei-news-rss"] and "(9)" in lines["hebei-news-rss"]
        assert "degraded" in lines["shuangqiao-wenzheng"] and "验证码" in lines["shuangqiao-wenzheng"]
        assert "never" in lines["hebei-weibo"]
        unknown = huiyin("crawl", "no-such-source", cwd=tmp_path, env=env)
        assert unknown.returncode == 2 and "no-such-source" in unknown.stderr
