"""Helpers shared by the crawler tests: demo settings on a fixed clock, reading a topic."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from huiyin.config.settings import Settings, load_settings
from huiyin.crawler.dates import SHANGHAI
from huiyin.crawler.demo import DemoSite
from huiyin.responder.bus import open_bus

FIXED = datetime(2024, 3, 5, 12, 0, tzinfo=SHANGHAI)


def demo_settings(site: DemoSite, data_dir: Path, **crawler: Any) -> Settings:
    """Settings that crawl ``site`` at full speed (no politeness delay: it is our own server)."""
    options = {"demo_url": site.url, "download_delay_s": 0.0, "autothrottle": False, "retry_backoff_s": 0.05, **crawler}
    return load_settings(config_dir="", data_dir=data_dir, bus="embedded", database_url="", crawler=options)


def read(settings: Settings, topic: str, group: str) -> list[dict[str, Any]]:
    """Everything on ``topic`` the group has not read yet."""
    with open_bus(settings) as bus, bus.consumer([topic], group) as consumer:
        messages = consumer.poll(0.2, 10_000)
        consumer.commit()
    return [m.value for m in messages]
