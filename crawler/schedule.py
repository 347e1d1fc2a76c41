"""Crawls on a schedule (``huiyin run``) and the demo site when no real source is configured.

``schedule_sources`` adds one APScheduler interval job per enabled source. Each run starts a child
process (``huiyin.crawler.runner``), so jobs may run in the scheduler's thread pool without sharing
Scrapy's reactor; ``max_instances=1`` keeps two crawls of one source from overlapping, and a missed
run is coalesced into one. Jobs hold live objects, so use an in-memory job store.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from huiyin.config.settings import Settings
from huiyin.crawler.demo import DemoSite
from huiyin.crawler.runner import run_crawls
from huiyin.crawler.sources import Source, load_sources, uses_demo_site
from huiyin.responder.bus import Bus
from huiyin.responder.store import Database

log = logging.getLogger(__name__)
STAGGER_S = 5.0  # first runs are spread out so the sources do not all start at once


def schedule_sources(scheduler: Any, settings: Settings, bus: Bus | None = None, db: Database | None = None) -> list[str]:
    """Add one interval job per enabled source to ``scheduler``; returns the job ids.

    ``bus`` and ``db`` are used to report a crawl process that failed (degraded + ops alert);
    the crawl itself runs in a child process with its own connections.
    """
    ids = []
    now = datetime.now(UTC)
    for index, source in enumerate(s for s in load_sources(settings) if s.enabled):
        job = scheduler.add_job(
            crawl_job,
            "interval",
            seconds=source.interval,
            args=(settings, source),
            kwargs={"bus": bus, "db": db},
            id=f"crawl:{source.name}",
            name=f"采集 {source.title or source.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=source.interval,
            next_run_time=now + timedelta(seconds=1 + index * STAGGER_S),
            replace_existing=True,
        )
        ids.append(job.id)
    log.info("已安排 %d 个采集源 scheduled %d sources", len(ids), len(ids))
    return ids


def crawl_job(settings: Settings, source: Source, *, bus: Bus | None = None, db: Database | None = None) -> None:
    """One scheduled crawl; never raises (a failure is recorded as the source's health)."""
    try:
        result = run_crawls(settings, [source], bus=bus, db=db)[0]
    except Exception:  # the scheduler must survive anything a crawl does
        log.exception("采集失败 crawl of %s failed", source.name)
        return
    log.info(
        "采集 %s: %s, new %d, updated %d, quarantined %d%s", source.name, result.status, result.new, result.updated,
        result.quarantined, f" ({result.reason})" if result.reason else "",
    )


def demo_sources_active(settings: Settings) -> bool:
    """True when no real source is configured: every enabled source reads the demo site."""
    enabled = [s for s in load_sources(settings) if s.enabled]
    return bool(enabled) and all(uses_demo_site(s, settings.crawler.demo_url) for s in enabled)


def start_demo_site(settings: Settings) -> DemoSite | None:
    """Start the demo site at ``settings.crawler.demo_url`` if the demo sources are active."""
    if not demo_sources_active(settings):
        return None
    parts = urlsplit(settings.crawler.demo_url)
    site = DemoSite(parts.hostname or "127.0.0.1", parts.port or 80).start()
    log.info("演示数据源已启用 demo sources read %s", site.url)
    return site
