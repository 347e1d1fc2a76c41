"""``huiyin crawl``, ``huiyin sources`` and ``huiyin ingest``: collection from the command line."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen
from zoneinfo import ZoneInfo

import typer

from huiyin.config.errors import ConfigError
from huiyin.config.settings import Settings

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Add the crawler's commands to the ``huiyin`` app."""
    app.command("crawl")(crawl)
    app.command("sources")(sources)
    app.command("ingest")(ingest)


def _settings(ctx: typer.Context) -> Settings:
    from huiyin.api.context import settings_from

    return settings_from(ctx)


def _verbose(ctx: typer.Context) -> bool:
    return bool(ctx.find_root().params.get("verbose"))


def crawl(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="采集源名称（见 huiyin sources） source names"),
    all_sources: bool = typer.Option(False, "--all", help="全部已启用的采集源 every enabled source"),
    max_pages: int = typer.Option(None, "--max-pages", min=1, help="每个采集源最多翻页数 list/API pages per source"),
) -> None:
    """采集一次：运行指定采集源并打印新增、更新、隔离数 (crawl sources once; last line JSON)."""
    from huiyin.crawler.crawl import CrawlOptions
    from huiyin.crawler.runner import run_crawls
    from huiyin.crawler.sources import get_source, load_sources, uses_demo_site

    settings = _settings(ctx)
    if all_sources:
        chosen = [s for s in load_sources(settings) if s.enabled]
    elif names:
        chosen = [get_source(settings, name) for name in names]
    else:
        raise ConfigError("请指定采集源名称或 --all name a source or use --all", key="SOURCE")
    site = None
    if any(uses_demo_site(s, settings.crawler.demo_url) for s in chosen) and not _reachable(settings.crawler.demo_url):
        from huiyin.crawler.demo import DemoSite

        parts = urlsplit(settings.crawler.demo_url)
        site = DemoSite(parts.hostname or "127.0.0.1", parts.port or 80).start()
        typer.echo(f"已启动演示站点 demo site started at {site.url}", err=True)
    try:
        options = CrawlOptions(max_pages=max_pages, log_level="INFO" if _verbose(ctx) else "WARNING")
        results = run_crawls(settings, chosen, options)
    finally:
        if site is not None:
            site.stop()
    for r in results:
        note = f"  ({r.reason})" if r.reason else ""
        typer.echo(
            f"{r.source}: {r.status}  新增 new {r.new}  更新 updated {r.updated}  未变 unchanged {r.unchanged}  "
            f"隔离 quarantined {r.quarantined}  页面 pages {r.pages}{note}"
        )
    total = {k: sum(getattr(r, k) for r in results) for k in ("new", "updated", "quarantined")}
    typer.echo(json.dumps({**total, "sources": [r.to_json() for r in results]}, ensure_ascii=False))
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def _reachable(url: str) -> bool:
    try:
        with urlopen(url.rstrip("/") + "/robots.txt", timeout=2):  # noqa: S310 - our configured demo URL
            return True
    except (URLError, OSError, ValueError):
        return False


def sources(ctx: typer.Context) -> None:
    """列出采集源及其健康状态 (list sources with their health)."""
    from huiyin.crawler.health import health_by_source
    from huiyin.crawler.sources import load_sources
    from huiyin.responder.store import open_database

    settings = _settings(ctx)
    tz = ZoneInfo(settings.timezone)
    items = load_sources(settings)
    db = open_database(settings.db_url)
    try:
        health = health_by_source(db)
    finally:
        db.dispose()
    typer.echo(f"{'名称 name':32} {'类型 kind':10} {'渠道 channel':12} {'属地':8} {'间隔':>7} {'启用':4} {'状态 health':12} 最近 last run")
    for s in items:
        h = health.get(s.name)
        status = h.status if h else "never"
        last = f"{h.last_run_at.astimezone(tz):%Y-%m-%d %H:%M} ({h.last_items})" if h and h.last_run_at else "-"
        reason = f"  {h.reason}" if h and h.reason else ""
        typer.echo(
            f"{s.name:32} {s.kind:10} {s.channel:12} {s.jurisdiction or '-':8} {_interval(s.interval):>7} "
            f"{'是' if s.enabled else '否':4} {status:12} {last}{reason}"
        )


def _interval(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def ingest(
    ctx: typer.Context,
    input_file: Path = typer.Option(..., "--input", "-i", help="JSON Lines 或 CSV 文件 file to import"),
    fmt: str = typer.Option(None, "--format", help="jsonl | csv（默认按扩展名）"),
    source: str = typer.Option(None, "--source", help="来源名称，默认 ingest-<文件名> source name"),
    channel: str = typer.Option(None, "--channel", help="渠道 channel: 留言板 问政 news 政务微博 RSS hotline"),
    mapping: list[str] = typer.Option(None, "--map", help="列映射 COLUMN=FIELD，如 工单号=id（可重复）"),
    encoding: str = typer.Option(None, "--encoding", help="文件编码，默认 UTF-8 否则 GB18030"),
    drain: bool = typer.Option(True, "--drain/--no-drain", help="导入后在嵌入式总线上完成派单与入库 route and store at once"),
) -> None:
    """导入帖子（JSON Lines / CSV，如 12345 热线导出）到处理流程 (import posts; last line JSON)."""
    from huiyin.crawler.ingest import ingest_file, parse_mapping, region_resolver
    from huiyin.crawler.runner import ensure_schema
    from huiyin.responder.bus import open_bus
    from huiyin.responder.store import open_database

    settings = _settings(ctx)
    if fmt not in (None, "jsonl", "csv"):
        raise ConfigError("格式应为 jsonl 或 csv format must be jsonl or csv", key="--format", source=fmt)
    ensure_schema(settings)
    db = open_database(settings.db_url, upgrade=False)
    bus = open_bus(settings)
    try:
        result = ingest_file(
            settings, db, bus, input_file, fmt=fmt, source=source, channel=channel, mapping=parse_mapping(mapping),
            encoding=encoding, resolve_region=region_resolver(settings),
        )
    finally:
        bus.close()
        db.dispose()
    typer.echo(
        f"新增 new {result.new}  更新 updated {result.updated}  未变 unchanged {result.unchanged}  隔离 quarantined {result.quarantined}"
    )
    if drain and settings.bus == "embedded" and (result.new or result.updated):
        _drain(settings)
    typer.echo(json.dumps(result.to_json(), ensure_ascii=False))


def _drain(settings: Settings) -> None:
    """Run the router and responder until the imported posts are routed and stored."""
    if importlib.util.find_spec("huiyin.api.pipeline") is None:
        typer.echo("提示：流程模块尚未提供，帖子已在总线上等待处理 (huiyin.api.pipeline missing; posts wait on the bus)", err=True)
        return
    from huiyin.api.pipeline import drain

    handled: Any = drain(settings)
    typer.echo(f"已派单并入库 routed and stored ({handled} records handled)")
