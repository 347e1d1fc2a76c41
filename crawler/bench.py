"""``huiyin bench crawl``: pages/min on the local demo site against ``scrapy bench`` on this machine.

The crawl reads a synthetic 留言板 (list + detail pages, GBK) served by the demo site in this
process, through the whole product path: a crawl child process with robots.txt, the item
pipelines, crawl state, MinHash clustering and the embedded bus (SQLite), on a throw-away data
directory. Politeness delays are off and concurrency matches ``scrapy bench`` (16 requests, 8 per
domain) so the two figures compare the same machine doing the same kind of work. The child's peak
RSS at the end of the crawl is the memory figure.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from huiyin.config.settings import Settings

PER_PAGE = 20
_STAT = r"'{name}': ([0-9.]+)"


def register_bench(bench_app: typer.Typer) -> None:
    """Add ``crawl`` to the ``huiyin bench`` group."""

    @bench_app.command("crawl")
    def bench_crawl(
        ctx: typer.Context,
        pages: int = typer.Option(10_000, "--pages", min=50, help="要抓取的页面数 pages to crawl"),
        skip_scrapy: bool = typer.Option(False, "--skip-scrapy-bench", help="不运行 scrapy bench"),
    ) -> None:
        """抓取本地演示站点并与 scrapy bench 对比 (crawl the demo site; compare with scrapy bench)."""
        from huiyin.api.context import settings_from

        figures = run_bench(settings_from(ctx), pages, scrapy_bench=not skip_scrapy, echo=typer.echo)
        typer.echo(json.dumps(figures, ensure_ascii=False))


def run_bench(settings: Settings, pages: int, *, scrapy_bench: bool = True, echo: Any = print) -> dict[str, Any]:
    """Run both benchmarks and return the figures (also echoed as they come).

    ``scrapy bench`` runs before and after the crawl and the mean is used, so a change in the
    machine's load during the run does not tilt the ratio one way.
    """
    before = run_scrapy_bench() if scrapy_bench else None
    crawl = bench_demo_crawl(settings, pages)
    echo(
        f"回音采集 huiyin crawl: {crawl['pages']} 页 pages in {crawl['elapsed_s']:.1f} s = "
        f"{crawl['pages_per_min']:.0f} pages/min, {crawl['new']} posts; peak RSS {crawl['peak_rss_mb']:.0f} MB"
    )
    figures: dict[str, Any] = {"benchmark": "crawl", **crawl}
    if before is not None:
        after = run_scrapy_bench()
        reference = (before["pages_per_min"] + after["pages_per_min"]) / 2
        ratio = crawl["pages_per_min"] / reference if reference else None
        echo(f"scrapy bench: {before['pages_per_min']:.0f} (before) / {after['pages_per_min']:.0f} (after) pages/min, mean {reference:.0f}")
        echo(f"比值 ratio huiyin / scrapy bench = {ratio:.2f} (目标 goal ≥ 0.9)" if ratio else "ratio: n/a")
        figures.update(scrapy_bench_pages_per_min=round(reference, 1),
                       scrapy_bench_runs=[before["pages_per_min"], after["pages_per_min"]],
                       ratio=round(ratio, 3) if ratio else None)
    return figures


def bench_demo_crawl(settings: Settings, pages: int) -> dict[str, Any]:
    """Crawl ``pages`` pages (list + detail) of the synthetic board once, from an empty state."""
    from huiyin.crawler.crawl import CrawlOptions
    from huiyin.crawler.demo import DemoSite
    from huiyin.crawler.runner import run_crawl
    from huiyin.crawler.sources import Source

    items = max(1, round(pages * PER_PAGE / (PER_PAGE + 1)))
    list_pages = math.ceil(items / PER_PAGE)
    with tempfile.TemporaryDirectory(prefix="huiyin-bench-") as tmp, DemoSite() as site:
        bench_settings = settings.model_copy(update={
            "data_dir": Path(tmp),
            "database_url": "",
            "bus": "embedded",
            "crawler": settings.crawler.model_copy(update={"download_delay_s": 0.0, "autothrottle": False,
                                                           "concurrent_per_domain": 8, "crawl_timeout_s": 3600.0}),
        })
        source = Source.model_validate({
            "name": "bench-synthetic",
            "kind": "html",
            "channel": "留言板",
            "start_urls": [f"{site.url}/synth/list?page=1&total={items}&per={PER_PAGE}"],
            "max_pages": list_pages,
            "html": {
                "list": {"item": "ul.msg-list > li.msg-item", "link": "a.msg-title::attr(href)", "next_page": "a.next-page::attr(href)"},
                "detail": {"title": "h1.msg-title::text", "body": "div.msg-body", "author": "span.msg-author::text",
                           "time": "div.msg-meta span.msg-time::text", "likes": "span.msg-likes::text",
                           "replies": "span.msg-replies::text"},
                "id_pattern": r"tid=(\d+)",
            },
        })
        started = time.perf_counter()
        result = run_crawl(bench_settings, source, CrawlOptions(scrapy={"CONCURRENT_REQUESTS": 16}))
        wall = time.perf_counter() - started
    return {
        "pages": result.pages,
        "elapsed_s": round(result.elapsed_s, 2),
        "pages_per_min": round(result.pages_per_min, 1),
        "new": result.new,
        "quarantined": result.quarantined,
        "status": result.status,
        "wall_s_with_startup": round(wall, 2),
        "peak_rss_mb": round(result.peak_rss_mb, 1),
    }


def run_scrapy_bench() -> dict[str, Any]:
    """``scrapy bench`` (its own local server, 10 s of link following) and its pages/min."""
    with tempfile.TemporaryDirectory(prefix="scrapy-bench-") as tmp:  # away from any scrapy.cfg
        out = subprocess.run(  # noqa: S603 - scrapy's own command
            [sys.executable, "-m", "scrapy", "bench", "-s", "LOG_LEVEL=INFO"],
            capture_output=True, text=True, cwd=tmp, timeout=300, check=False,
        )
    log = out.stderr + out.stdout
    pages = _stat(log, "response_received_count") or _stat(log, "downloader/response_count")
    elapsed = _stat(log, "elapsed_time_seconds")
    if not pages or not elapsed:
        raise RuntimeError(f"scrapy bench gave no statistics (exit {out.returncode}): {log[-2000:]}")
    return {"pages": int(pages), "elapsed_s": elapsed, "pages_per_min": round(pages / elapsed * 60.0, 1)}


def _stat(log: str, name: str) -> float | None:
    matches = re.findall(_STAT.format(name=re.escape(name)), log)
    return float(matches[-1]) if matches else None
