"""``huiyin run``: the whole of 回音 in one process (or the parts named by ``--stages``).

On the embedded default with no real sources configured it serves the bundled demo site,
creates one demo account per role and prints their random passwords, so a newcomer can log in
at once. ``--once`` crawls every source once, routes and stores what came in, checks the
clocks, prints a summary and exits.
"""

from __future__ import annotations

import gc
import json
import logging
import signal
import threading
from contextlib import ExitStack
from typing import Any

import typer

from huiyin.api.context import settings_from
from huiyin.config.errors import ConfigError
from huiyin.config.settings import Settings

log = logging.getLogger(__name__)
STAGES = ("router", "responder", "crawler", "api")


def parse_stages(value: str) -> list[str]:
    """``router,responder`` → the stage names, or ConfigError naming the unknown one."""
    names = [s.strip() for s in value.split(",") if s.strip()]
    for name in names:
        if name not in STAGES:
            raise ConfigError(f"未知阶段 unknown stage {name!r}; choose from {', '.join(STAGES)}", key="--stages")
    return names or list(STAGES)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        ctx: typer.Context,
        stages: str = typer.Option(",".join(STAGES), "--stages", help="要运行的部分 parts to run: router,responder,crawler,api"),
        once: bool = typer.Option(False, "--once", help="采集一次、处理完毕后退出 crawl once, drain, exit"),
        host: str = typer.Option(None, "--host", help="监听地址 listen address (default: settings.api.host)"),
        port: int = typer.Option(None, "--port", help="端口 port (default: settings.api.port)"),
    ) -> None:
        """运行回音：采集、研判派单、时限跟踪和服务 run 回音: crawl, route, respond, serve."""
        settings = settings_from(ctx)
        run_huiyin(settings, parse_stages(stages), once=once, host=host, port=port)


def run_huiyin(settings: Settings, stages: list[str], *, once: bool = False, host: str | None = None, port: int | None = None) -> dict[str, Any]:
    """Start the chosen parts; returns the ``--once`` summary (or {} after a served run ends)."""
    from huiyin.api.pipeline import Pipeline
    from huiyin.crawler.schedule import demo_sources_active, start_demo_site

    pipeline = Pipeline.open(settings)
    # The directory, gazetteer and models live as long as the process: frozen, they are no
    # longer re-scanned by every full garbage collection (measured ~5-10 % of the judgement).
    gc.collect()
    gc.freeze()
    demo = demo_sources_active(settings)
    with ExitStack() as stack:
        stack.callback(pipeline.close)
        if demo and ("crawler" in stages or once):
            site = start_demo_site(settings)
            if site is not None:
                stack.callback(site.stop)
                typer.echo(f"演示数据源 demo sources (演示数据): {site.url}")
        if once:
            return _run_once(settings, pipeline)
        if "api" in stages and demo:
            from huiyin.api.security import with_demo_secret

            settings = with_demo_secret(settings)
            _print_demo_accounts(settings, pipeline)
        _start_background(settings, pipeline, stages, stack)
        if "api" in stages:
            _serve(settings, pipeline, host or settings.api.host, port or settings.api.port)
        else:
            _wait_for_signal(pipeline.stop)
    return {}


def _run_once(settings: Settings, pipeline: Any) -> dict[str, Any]:
    from huiyin.crawler.runner import run_crawls
    from huiyin.crawler.sources import load_sources
    from huiyin.responder.checker import DeadlineChecker
    from huiyin.responder.context import Context

    sources = [s for s in load_sources(settings) if s.enabled]
    results = run_crawls(settings, sources, bus=pipeline.bus, db=pipeline.db) if sources else []
    handled = pipeline.drain()
    checked = DeadlineChecker(pipeline.db, Context.from_settings(settings, pipeline.org), pipeline.bus).check_deadlines()
    summary = {
        "sources": {r.source: {"status": r.status, "new": r.new, "updated": r.updated, "quarantined": r.quarantined} for r in results},
        "records_handled": handled,
        "incidents": _count_incidents(pipeline.db),
        "clock_check": {"warned": checked.warned, "missed": checked.missed, "at": checked.at.isoformat()},
    }
    typer.echo(json.dumps(summary, ensure_ascii=False))
    return summary


def _count_incidents(db: Any) -> int:
    from sqlalchemy import func, select

    from huiyin.responder.store.tables import Incident

    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Incident)) or 0)


def _print_demo_accounts(settings: Settings, pipeline: Any) -> None:
    from huiyin.api.users import create_demo_users

    accounts = create_demo_users(pipeline.db, pipeline.org, settings)
    typer.echo("演示账号 demo accounts (每次启动重新生成随机密码 new random passwords at every start):")
    for username, password, role, unit in accounts:
        typer.echo(f"  {role:<10} {username:<16} {password}   {unit}")


def _start_background(settings: Settings, pipeline: Any, stages: list[str], stack: ExitStack) -> None:
    if "router" in stages or "responder" in stages:
        pipeline.start(names=stages)
    if "responder" in stages:
        from huiyin.responder.checker import CheckerScheduler, DeadlineChecker
        from huiyin.responder.context import Context

        checker = DeadlineChecker(pipeline.db, Context.from_settings(settings, pipeline.org), pipeline.bus)
        scheduler = CheckerScheduler(checker, settings.responder.check_interval_s)
        log.info("启动时补查时限 clocks checked at start-up: %s", scheduler.start())
        stack.callback(scheduler.shutdown)
    if "crawler" in stages:
        from apscheduler.schedulers.background import BackgroundScheduler

        from huiyin.crawler.schedule import schedule_sources

        crawl_scheduler = BackgroundScheduler(timezone="UTC")
        schedule_sources(crawl_scheduler, settings, pipeline.bus, pipeline.db)
        crawl_scheduler.start()
        stack.callback(lambda: crawl_scheduler.shutdown(wait=False))


def _serve(settings: Settings, pipeline: Any, host: str, port: int) -> None:
    from huiyin.api.app import create_app, make_server

    app = create_app(settings, pipeline.db, pipeline.org, pipeline.bus)
    typer.echo(f"回音已启动 serving at http://{host}:{port}  (Ctrl+C 退出 to stop)")
    make_server(app, host=host, port=port).run()  # uvicorn handles SIGINT/SIGTERM


def _wait_for_signal(stop: threading.Event) -> None:
    def _set(*_: object) -> None:
        stop.set()  # the stages finish their batch and commit

    signal.signal(signal.SIGTERM, _set)
    signal.signal(signal.SIGINT, _set)
    while not stop.wait(1.0):
        pass
