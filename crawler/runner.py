"""Run crawls in a fresh child process and read the results (see ``huiyin.crawler.crawl`` for why).

A child that fails or overruns ``settings.crawler.crawl_timeout_s`` never takes the caller down:
it is stopped (SIGINT first, so Scrapy flushes what it has, then SIGKILL), each source without a
result is marked degraded with the reason and an ops alert goes out.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from datetime import UTC, datetime

from huiyin.config.errors import ConfigError
from huiyin.config.settings import Settings
from huiyin.crawler import health
from huiyin.crawler.crawl import CrawlOptions, CrawlResult
from huiyin.crawler.sources import Source
from huiyin.responder.bus import Bus
from huiyin.responder.store import Database

log = logging.getLogger(__name__)
GRACE_S = 30.0
_MIGRATED: set[str] = set()


def run_crawl(settings: Settings, source: Source, options: CrawlOptions | None = None, *, timeout_s: float | None = None) -> CrawlResult:
    """Crawl one source once in a child process."""
    return run_crawls(settings, [source], options, timeout_s=timeout_s)[0]


def run_crawls(
    settings: Settings,
    sources: list[Source],
    options: CrawlOptions | None = None,
    *,
    timeout_s: float | None = None,
    bus: Bus | None = None,
    db: Database | None = None,
) -> list[CrawlResult]:
    """Crawl several sources once, side by side in one child process; one result per source.

    ``bus`` and ``db``, if given, are used to report a failed child (else opened for that).
    """
    options = options or CrawlOptions()
    if not settings.crawler.user_agent.isascii():
        raise ConfigError("User-Agent 必须是 ASCII（HTTP 头） must be ASCII", key="crawler.user_agent")
    ensure_schema(settings)
    job = {
        "settings": settings.model_dump(mode="json"),
        "sources": [s.model_dump(mode="json") for s in sources],
        "options": options.to_json(),
    }
    timeout = timeout_s if timeout_s is not None else settings.crawler.crawl_timeout_s
    proc = subprocess.Popen(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", "huiyin.crawler.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        out, _ = proc.communicate(json.dumps(job), timeout=timeout)
        failure = None if proc.returncode == 0 else f"采集进程异常退出 crawler process exited with code {proc.returncode}"
    except subprocess.TimeoutExpired:
        out = _stop(proc)
        failure = f"采集超时 crawl exceeded {timeout:.0f} s"
    found = _parse(out)
    results = []
    for source in sources:
        result = found.get(source.name)
        if result is None or failure:
            reason = failure or "采集进程没有返回结果 no result from the crawler process"
            result = _failed(settings, source, reason, result, bus=bus, db=db)
        results.append(result)
    return results


def ensure_schema(settings: Settings) -> None:
    """Migrate the database once per process; the crawl children open it without migrating."""
    from huiyin.responder.store import open_database

    if settings.db_url not in _MIGRATED:
        open_database(settings.db_url).dispose()
        _MIGRATED.add(settings.db_url)


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)  # Scrapy closes the spiders and the pipelines flush
    try:
        out, _ = proc.communicate(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


def _parse(out: str | None) -> dict[str, CrawlResult]:
    for line in reversed((out or "").strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, list):
            return {item["source"]: CrawlResult(**item) for item in data if isinstance(item, dict) and "source" in item}
    return {}


def _failed(
    settings: Settings, source: Source, reason: str, partial: CrawlResult | None, *, bus: Bus | None, db: Database | None
) -> CrawlResult:
    """Mark the source degraded and alert; the partial counts of a stopped child are kept."""
    from huiyin.responder.bus import open_bus
    from huiyin.responder.store import open_database

    result = partial or CrawlResult(source=source.name)
    result.status, result.reason = "failed", reason
    log.error("采集源 %s: %s", source.name, reason)
    own_db = db or open_database(settings.db_url, upgrade=False)
    own_bus = bus or open_bus(settings)
    try:
        health.mark_degraded(own_db, own_bus, settings, source.name, reason, url=source.start_urls[0], at=datetime.now(UTC))
    finally:
        if bus is None:
            own_bus.close()
        if db is None:
            own_db.dispose()
    return result
