"""``huiyin bench pipeline --bus kafka|embedded``: posts through router and responder, timed.

The router and the responder each run in their own process (as in production, and so they get
a core each); this process publishes synthetic posts to ``posts.raw`` at ``--rate`` per second
and listens on ``incident.events``. Latency is from a post's publication to the event saying its
incident was stored (created or attached), which the responder sends only after its commit.
With ``--bus kafka`` a private broker is started from ``bench/kafka_broker.py`` unless
``--bootstrap`` names one; every run uses fresh topics and groups and a fresh SQLite database
(or ``--database-url``). Figures only, no assertions; the last line is one JSON object.
"""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing as mp
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from huiyin.config.settings import Settings

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
_PLACES = ["石家庄市长安区", "石家庄市正定县", "保定市莲池区", "唐山市路北区", "邯郸市丛台区", "廊坊市广阳区", "沧州市运河区"]
_MATTERS = [
    "小区停水三天无人管，物业推诿", "学校周边道路施工噪音扰民", "保障房分配不公，请住建局调查",
    "农村低保审核拖延半年未办", "征地补偿款迟迟未发放", "菜市场食品安全令人担忧", "养老院收费不透明",
    "医院挂号难，专家号被黄牛倒卖", "社保转移接续手续繁琐", "工地夜间施工扬尘严重",
]


def register_bench(bench_app: typer.Typer) -> None:
    """Add ``pipeline`` to the ``huiyin bench`` group."""
    bench_app.command("pipeline", help="全流程：帖子经派单、回应环节入库的速度与时延 posts → incidents throughput and latency")(
        pipeline)


def _post(i: int, run: str, dup_of: int | None) -> dict[str, Any]:
    rnd = random.Random(i)
    text = f"{rnd.choice(_PLACES)}{rnd.choice(_MATTERS)}（第{i}号反映）"
    return {
        "id": f"bench:{run}:{i}", "source": "bench", "external_id": f"{run}-{i}", "kind": "new", "text": text,
        "title": text[:20], "channel": rnd.choice(["留言板", "news", "政务微博", "问政"]),
        "fetched_at": datetime.now(UTC).isoformat(), "likes": rnd.randint(0, 50), "reposts": rnd.randint(0, 5),
        "cluster_id": f"bench:{run}:{dup_of}" if dup_of is not None else None,
    }


def _stage_main(kind: str, settings: Settings, stop: Any, ready: Any, report: Any) -> None:
    """A child process: run one stage until ``stop`` is set, then report its CPU time."""
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from huiyin.config.org import from_settings
    from huiyin.responder.bus.base import open_bus

    org = from_settings(settings)
    bus = open_bus(settings)
    flag = threading.Event()
    threading.Thread(target=lambda: (stop.wait(), flag.set()), daemon=True).start()
    if kind == "router":
        from huiyin.classifier.stage import RouterStage

        runner = RouterStage(settings, org, bus, stop=flag)
        db = None
    else:
        from huiyin.responder.stage import ResponderStage
        from huiyin.responder.store.db import open_database

        db = open_database(settings.db_url)
        runner = ResponderStage(settings, db, org, bus, stop=flag)
    gc.collect()
    gc.freeze()  # as ``huiyin run`` does after loading: long-lived data out of the collector's way
    ready.set()
    cpu = time.process_time()
    try:
        runner.run()
    finally:
        report.put((kind, time.process_time() - cpu, runner.processed))
        bus.close()
        if db is not None:
            db.dispose()


def pipeline(
    ctx: typer.Context,
    bus: str = typer.Option("embedded", "--bus", help="embedded | kafka"),
    posts: int = typer.Option(20_000, "--posts", min=100, help="帖子数 posts to push"),
    rate: float = typer.Option(1000.0, "--rate", min=0.0, help="每秒发布帖子数（0 为尽快） posts/s offered (0: flat out)"),
    duplicates: float = typer.Option(0.1, "--duplicates", min=0.0, max=0.9, help="转发（同一事件）的比例 share of reposts"),
    bootstrap: str = typer.Option(None, "--bootstrap", help="已有 Kafka 地址 use this broker instead of starting one"),
    database_url: str = typer.Option(None, "--database-url", help="数据库（默认临时 SQLite） database (default: temp SQLite)"),
    responder_only: bool = typer.Option(False, "--responder-only", help="不经派单，只测回应环节 skip the router"),
) -> None:
    """Push posts through the pipeline and print sustained incidents/s and p50/p99 latency."""
    from huiyin.api.cli import settings_from

    if bus not in ("embedded", "kafka"):
        raise typer.BadParameter("--bus must be embedded or kafka")
    base = settings_from(ctx)
    work = Path(tempfile.mkdtemp(prefix="huiyin-bench-"))
    broker = None
    if bus == "kafka" and not bootstrap:
        sys.path.insert(0, str(REPO_ROOT))
        try:
            from bench.kafka_broker import KafkaBroker
        except ImportError:
            typer.echo("找不到 bench/kafka_broker.py：请用 --bootstrap 指定 Kafka (run from the repository or pass --bootstrap)",
                       err=True)
            raise typer.Exit(2) from None
        broker = KafkaBroker(work / "kafka").start()
        bootstrap = broker.bootstrap
        typer.echo(f"Kafka broker {bootstrap} started in {broker.start_seconds:.1f}s")
    run = uuid.uuid4().hex[:8]
    settings = base.model_copy(update={
        "bus": bus, "kafka_bootstrap": bootstrap or base.kafka_bootstrap, "data_dir": work,
        "database_url": database_url or f"sqlite:///{work / 'bench.db'}",
        "topics": base.topics.model_copy(update={
            "posts_raw": f"bench-{run}.posts.raw", "incidents_routed": f"bench-{run}.incidents.routed",
            "incident_events": f"bench-{run}.incident.events", "dead_letter": f"bench-{run}.dead-letter"}),
        "responder": base.responder.model_copy(update={"consumer_group": f"bench-{run}-responder"}),
    })
    try:
        result = _measure(settings, posts=posts, rate=rate, duplicates=duplicates, responder_only=responder_only, run=run)
    finally:
        if broker is not None:
            broker.close()
        shutil.rmtree(work, ignore_errors=True)
    result.update(bus=bus, router=not responder_only)
    typer.echo(
        f"{result['incidents']} incidents from {result['posts']} posts; {result['incidents_per_s']} incidents/s, "
        f"{result['posts_per_s']} posts/s, sustained {result['sustained_posts_per_s']} posts/s (offered {rate or 'max'}/s); "
        f"latency p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms"
    )
    typer.echo(json.dumps(result, ensure_ascii=False))


def _measure(settings: Settings, *, posts: int, rate: float, duplicates: float, responder_only: bool,
             run: str) -> dict[str, Any]:
    from huiyin.responder.bus.base import open_bus
    from huiyin.responder.store.db import open_database

    open_database(settings.db_url).dispose()  # migrate once, before two processes race to do it
    spawn = mp.get_context("spawn")
    stop = spawn.Event()
    kinds = ["responder"] if responder_only else ["router", "responder"]
    readies = [spawn.Event() for _ in kinds]
    report = spawn.Queue()
    procs = [spawn.Process(target=_stage_main, args=(k, settings, stop, r, report), name=f"bench-{k}")
             for k, r in zip(kinds, readies, strict=True)]
    for p in procs:
        p.start()
    for r in readies:
        r.wait(120)
    bus = open_bus(settings)
    stored: dict[str, float] = {}
    created = [0]
    listening = threading.Event()
    done = threading.Event()

    def listen() -> None:
        with bus.consumer([settings.topics.incident_events], f"bench-{run}-listener") as consumer:
            listening.set()
            while not done.is_set():
                for m in consumer.poll(0.2, 5000):
                    ev = m.value
                    if ev.get("type") in ("created", "post_attached"):
                        stored.setdefault(ev["data"]["post_id"], time.time())
                        created[0] += ev["type"] == "created"

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    listening.wait(60)
    routed_topic = settings.topics.incidents_routed
    published: dict[str, float] = {}
    warm = _post(-1, run, None)
    _publish(bus, settings, [warm], responder_only, published)
    _wait(lambda: warm["id"] in stored, 180)  # groups joined, models loaded: the clock starts now
    stored.clear()
    created[0] = 0
    rnd = random.Random(7)
    start = time.time()
    tick = 0.02
    batch = max(1, int(rate * tick)) if rate else 500
    for first in range(0, posts, batch):
        items = [_post(i, run, rnd.randrange(0, i) if i > 10 and rnd.random() < duplicates else None)
                 for i in range(first, min(posts, first + batch))]
        _publish(bus, settings, items, responder_only, published)
        if rate:
            behind = start + (first + len(items)) / rate - time.time()
            if behind > 0:
                time.sleep(behind)
    offered_s = time.time() - start
    _wait(lambda: len(stored) >= posts, 600)
    end = max(stored.values()) if stored else time.time()
    done.set()
    stop.set()
    cpu: dict[str, float] = {}
    for _ in procs:
        kind, seconds, handled = report.get(timeout=120)
        cpu[f"{kind}_cpu_ms_per_post"] = round(seconds * 1000 / max(1, handled), 3)
    for p in procs:
        p.join(60)
        if p.is_alive():  # a stage stuck in shutdown must not keep the benchmark from exiting
            log.warning("阶段进程未按时退出，已终止 stage process %s did not stop in 60 s; terminated", p.name)
            p.terminate()
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join(5)
    bus.close()
    latencies = sorted((stored[k] - published[k]) * 1000 for k in stored if k in published)
    elapsed = end - start
    # Sustained rate: posts completed per second between the first and the last completion. It
    # equals the offered rate when the pipeline keeps up, and falls below it when a backlog grows
    # (the last completions then trail the last publication). ``posts_per_s`` also counts the
    # time the first post spent in the pipeline, so it stays a little below the offered rate.
    span = (end - min(stored.values())) if len(stored) > 1 else 0.0
    return {
        "posts": posts, "incidents": created[0], "stored": len(stored),
        "incidents_per_s": round(created[0] / elapsed, 1), "posts_per_s": round(len(stored) / elapsed, 1),
        "sustained_posts_per_s": round((len(stored) - 1) / span, 1) if span > 0 else None,
        "offered_posts_per_s": round(posts / offered_s, 1) if offered_s else None,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None, "elapsed_s": round(elapsed, 2),
        "topic": routed_topic, **cpu,
    }


def _publish(bus: Any, settings: Settings, items: list[dict[str, Any]], responder_only: bool,
             published: dict[str, float]) -> None:
    now = time.time()
    for item in items:
        published[item["id"]] = now
    if responder_only:
        from huiyin.responder.bus.messages import Place, RoutedPost, Routing

        routed = [RoutedPost(post=item, routing=Routing(unit_id="130102.housing", unit_name="长安区住建局", tier="county",
                                                        place=Place(jurisdiction_id="130102"), rule="bench"),
                             cluster_key=item["cluster_id"] or item["id"], routed_at=datetime.now(UTC))
                  .model_dump(mode="json") for item in items]
        bus.publish_many(settings.topics.incidents_routed, [(r["cluster_key"], r) for r in routed])
    else:
        bus.publish_many(settings.topics.posts_raw, [(item["id"], item) for item in items])
    bus.flush()


def _wait(check: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("bench: the pipeline did not deliver in time")
        time.sleep(0.05)
