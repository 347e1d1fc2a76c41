"""One crawl of one source, in this process, with Scrapy's ``CrawlerProcess``.

Twisted's reactor cannot be restarted, so this runs once per process: ``huiyin.crawler.runner``
starts a fresh child process (``python -m huiyin.crawler.worker``) for every crawl. That keeps
repeated crawls (``huiyin run``'s scheduler) independent of the reactor, frees a crawl's memory when
it ends, and lets the parent stop a crawl that overruns its time limit.
"""

from __future__ import annotations

import json
import logging
import resource
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from huiyin.config.settings import Settings
from huiyin.crawler import health
from huiyin.crawler.sink import PostSink
from huiyin.crawler.sources import Source

log = logging.getLogger(__name__)


@dataclass
class CrawlOptions:
    """Per-run knobs (the source's own settings come from its entry)."""

    max_pages: int | None = None  # list/API pages; default: the source's max_pages
    max_items: int | None = None  # stop after this many posts (a deliberately interrupted crawl)
    now: datetime | None = None  # a fixed clock (tests); default: the real time
    log_level: str = "WARNING"
    scrapy: dict[str, Any] = field(default_factory=dict)  # extra Scrapy settings (benchmarks)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["now"] = self.now.isoformat() if self.now else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CrawlOptions:
        data = dict(data)
        if data.get("now"):
            data["now"] = datetime.fromisoformat(data["now"])
        return cls(**data)


@dataclass
class CrawlResult:
    """What a crawl did. ``status``: ok | blocked | degraded | failed."""

    source: str
    status: str = "ok"
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    robots_forbidden: int = 0
    pages: int = 0
    elapsed_s: float = 0.0
    reason: str | None = None
    finish_reason: str | None = None
    peak_rss_mb: float = 0.0

    @property
    def pages_per_min(self) -> float:
        return self.pages / self.elapsed_s * 60.0 if self.elapsed_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def scrapy_settings(settings: Settings, options: CrawlOptions) -> dict[str, Any]:
    """Scrapy settings from 回音's: polite by default (robots.txt, AutoThrottle, per-domain limit)."""
    crawler = settings.crawler
    return {
        "BOT_NAME": "huiyin",
        "USER_AGENT": crawler.user_agent,
        "ROBOTSTXT_OBEY": crawler.obey_robots,
        "CONCURRENT_REQUESTS": 16,
        # Scrapy starts this many asyncio tasks for every response's output; our pipelines are
        # synchronous, so the default 100 only costs time (a third of the CPU per page).
        "CONCURRENT_ITEMS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawler.concurrent_per_domain,
        "DOWNLOAD_DELAY": crawler.download_delay_s,
        "AUTOTHROTTLE_ENABLED": crawler.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawler.download_delay_s, 1.0),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "RETRY_TIMES": crawler.retry_times,
        "RETRY_BACKOFF_BASE": crawler.retry_backoff_s,
        "DOWNLOAD_MAXSIZE": crawler.max_body_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_TIMEOUT": 30,
        "HTTPERROR_ALLOW_ALL": True,  # the spider decides what a 403 or 404 means
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # no control port on a crawler
        "LOG_LEVEL": options.log_level,
        "LOGSTATS_INTERVAL": 60.0,
        "CLOSESPIDER_ITEMCOUNT": options.max_items or 0,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "huiyin.crawler.middlewares.BackoffRetryMiddleware": 550,
            "huiyin.crawler.middlewares.EncodingMiddleware": 560,
        },
        "ITEM_PIPELINES": {
            "huiyin.crawler.pipelines.NormalisePipeline": 300,
            "huiyin.crawler.pipelines.EmitPipeline": 800,
        },
        **options.scrapy,
    }


def crawl_in_process(settings: Settings, sources: list[Source], options: CrawlOptions) -> list[CrawlResult]:
    """Crawl each source once, side by side in one reactor; publishes posts and alerts, records
    crawl state and health. Runs once per process (the reactor cannot restart)."""
    from scrapy.crawler import Crawler, CrawlerProcess

    from huiyin.crawler.cluster import NearDuplicates
    from huiyin.crawler.spiders import SPIDERS
    from huiyin.responder.bus import open_bus
    from huiyin.responder.store import open_database

    clock: Callable[[], datetime] = (lambda: options.now) if options.now else (lambda: datetime.now(UTC))  # type: ignore[assignment,return-value]
    db = open_database(settings.db_url, upgrade=False)  # the parent migrated it (runner.ensure_schema)
    bus = open_bus(settings)
    try:
        # One near-duplicate index for all sources of the run: a repost on Weibo joins the 留言.
        clusters = NearDuplicates(db, threshold=settings.crawler.cluster_threshold,
                                  window=timedelta(days=settings.crawler.cluster_window_days), clock=clock)
        clusters.load()
        process = CrawlerProcess({**scrapy_settings(settings, options), "LOG_INSTALL_ROOT_HANDLER": True})
        runs: list[tuple[Source, Crawler, PostSink]] = []
        for source in sources:
            sink = PostSink(settings, db, bus, clock=clock, clusters=clusters)
            crawler = process.create_crawler(SPIDERS[source.kind])
            process.crawl(crawler, source=source, sink=sink, clock=clock, max_pages=options.max_pages,
                          max_body_bytes=settings.crawler.max_body_bytes)
            runs.append((source, crawler, sink))
        process.start()
        return [_finish(settings, db, bus, source, crawler, sink, clock) for source, crawler, sink in runs]
    finally:
        bus.close()
        db.dispose()


def _finish(settings: Settings, db: Any, bus: Any, source: Source, crawler: Any, sink: PostSink,
            clock: Callable[[], datetime]) -> CrawlResult:
    """Flush the sink, record the source's health and sum up the run."""
    sink.close()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    spider = crawler.spider
    result = CrawlResult(
        source=source.name,
        new=sink.counts["new"],
        updated=sink.counts["updated"],
        unchanged=sink.counts["unchanged"],
        quarantined=sink.counts["quarantined"],
        robots_forbidden=sink.counts["robots_forbidden"],
        pages=int(stats.get("response_received_count", 0)),
        elapsed_s=float(stats.get("elapsed_time_seconds") or 0.0),
        finish_reason=str(stats.get("finish_reason")),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    )
    items = result.new + result.updated + result.unchanged
    if getattr(spider, "blocked_reason", None):
        result.status, result.reason = "blocked", spider.blocked_reason
        health.record_items(db, source.name, items=items, at=clock())
    elif getattr(spider, "unreadable_reason", None):
        result.status, result.reason = "degraded", spider.unreadable_reason
        health.record_items(db, source.name, items=items, at=clock())
    else:
        health.mark_ok(db, bus, settings, source.name, items=items, at=clock())
    return result


def result_line(results: list[CrawlResult]) -> str:
    """The JSON line a worker prints last: one object per source."""
    return json.dumps([r.to_json() for r in results], ensure_ascii=False)
