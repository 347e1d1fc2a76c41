"""``huiyin bench classify --data CSV|JSONL [--limit N]``: the whole judgement against plain jieba.

Timed passes over the same texts (models and dictionaries loaded beforehand, load time reported
apart): the judgement in batches (as the router stage runs it: by default the records a stage
takes per poll, ``MAX_RECORDS``) and ``jieba.lcut`` alone, in
``--rounds`` rounds, each side's fastest round giving ``posts_per_s`` and ``jieba_posts_per_s``.
Within a round the two take turns every ``INTERLEAVE`` posts: a shared VM's speed drifts by
tens of percent between minutes, and turns of a few seconds let both sides see the same machine
(every round is listed in ``rounds``); then the judgement one post at a time → ``p50_ms``/``p99_ms`` per-post latency.
``ratio`` is the batched judgement's rate over plain jieba's, the judgement using ``threads``
threads (``--threads``, default ``classifier.threads``: every core this process may use;
``jieba.lcut`` has one); ``posts_per_s_one_thread`` and ``ratio_one_thread`` are the same
judgement on one thread, timed in the same turns. The models
are also timed over the same batches: ``share`` is each model's part of the judgement (the
field model's includes preparing the batch, which the sentiment model then reuses, and the
one pass over it that scores both models) and
``rest_posts_per_s`` the rate of everything else (place, severity, signals, routing). The last
line is one JSON object; ``memory`` is the process's peak RSS in MB (jieba's included),
``memory_judgement`` the peak before jieba was loaded (models, dictionaries, one warm batch). Figures only, no assertions.
"""

from __future__ import annotations

import csv
import gc
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import typer

from huiyin.responder.bus.runner import MAX_RECORDS

# Posts judged, then cut by jieba, in turn within a round (a few seconds each).
INTERLEAVE = 2048


def register_bench(bench_app: typer.Typer) -> None:
    """Add ``classify`` to the ``huiyin bench`` group."""
    bench_app.command("classify", help="研判派单速度：整条研判对比纯 jieba 分词 judgement speed vs plain jieba")(classify)


def _judge_all(judge: Any, posts: list[dict[str, Any]], batch: int, rules: dict[str, int]) -> float:
    """Seconds to judge ``posts`` in batches of ``batch``, counting the rules in ``rules``."""
    t0 = time.perf_counter()
    for start in range(0, len(posts), batch):
        for routing in judge.judge_many(posts[start : start + batch]):
            rules[routing.rule] = rules.get(routing.rule, 0) + 1
    return time.perf_counter() - t0


def read_posts(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Posts from a CSV (``text``, or ``title`` + ``detail`` as in the 留言 data) or a JSONL file."""
    posts: list[dict[str, Any]] = []
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(item, dict) and isinstance(item.get("text"), str):
                    posts.append(item)
                if limit and len(posts) >= limit:
                    break
        return posts
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        for row in csv.DictReader(handle):
            if "text" in row:
                post = {"text": row.get("text") or "", "title": row.get("title")}
            else:
                post = {"title": row.get("title") or row.get("留言主题") or "",
                        "text": row.get("detail") or row.get("留言详情") or ""}
            post["id"] = row.get("id") or row.get("留言编号") or str(len(posts))
            posts.append(post)
            if limit and len(posts) >= limit:
                break
    return posts


def classify(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", exists=True, dir_okay=False, help="CSV 或 JSONL 数据 data file"),
    limit: int = typer.Option(0, "--limit", min=0, help="最多条数（0 为全部） at most N posts"),
    batch: int = typer.Option(MAX_RECORDS, "--batch", min=1, help="批大小（默认为处理阶段每次拉取的条数） batch size (default: a stage's poll)"),
    rounds: int = typer.Option(3, "--rounds", min=1, help="交替测量轮数，各取最快 alternating rounds, best of each"),
    threads: int = typer.Option(-1, "--threads", min=-1, max=64,
                                help="研判线程数（0 为全部核，默认取配置） judgement threads (0: every core; default: settings)"),
    profile: bool = typer.Option(False, "--profile", help="输出性能剖析到 stderr print a profile to stderr"),
) -> None:
    """Time the judgement and plain jieba over the same posts; last line JSON."""
    from huiyin.api.cli import settings_from
    from huiyin.classifier.batch import TextBatch
    from huiyin.classifier.judge import Judge, PostInput
    from huiyin.config.org import from_settings

    settings = settings_from(ctx)
    posts = read_posts(data, limit or None)
    if not posts:
        typer.echo("没有可用的帖子 no posts in the data", err=True)
        raise typer.Exit(1)
    texts = [PostInput.of(p).full_text() for p in posts]
    t0 = time.perf_counter()
    if threads >= 0:
        settings = settings.model_copy(update={"classifier": settings.classifier.model_copy(update={"threads": threads})})
    judge = Judge.from_settings(settings, from_settings(settings))
    judge.judge_many(posts[:8])  # warm caches, as a running stage would be
    gc.collect()
    gc.freeze()  # as ``huiyin run`` does after loading: long-lived data out of the collector's way
    load_s = time.perf_counter() - t0
    typer.echo(f"加载 loaded in {load_s:.2f}s; field model: {'yes' if judge.fields else 'NO'}; posts: {len(posts)}")

    judge_memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before jieba's dictionary
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    gc.collect()
    gc.freeze()  # jieba's dictionary out of the collector's way too, as the judgement's own data
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    threads = judge.threads
    typer.echo(f"研判线程 judgement threads: {threads}")
    rounds_s: list[tuple[float, float, float]] = []
    rules: dict[str, int] = {}
    tokens = 0
    for round_no in range(rounds):
        rules = {}
        if profiler is not None and round_no == 0:
            profiler.enable()
        # Alternating chunk by chunk: every side sees the same minutes of a shared machine.
        judged_s = single_s = jieba_s = 0.0
        tokens = 0
        for at in range(0, len(posts), INTERLEAVE):
            chunk = posts[at : at + INTERLEAVE]
            judged_s += _judge_all(judge, chunk, batch, rules)
            if profiler is not None and round_no == 0:
                profiler.disable()
            if threads > 1:  # the same on one thread: what one core gives
                judge.threads = 1
                single_s += _judge_all(judge, chunk, batch, {})
                judge.threads = threads
            t0 = time.perf_counter()
            for text in texts[at : at + INTERLEAVE]:
                tokens += len(jieba.lcut(text))
            jieba_s += time.perf_counter() - t0
            if profiler is not None and round_no == 0:
                profiler.enable()
        if profiler is not None and round_no == 0:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        single_s = single_s or judged_s
        rounds_s.append((judged_s, single_s, jieba_s))
        typer.echo(f"第{round_no + 1}轮 round {round_no + 1}: 研判 judgement {len(posts) / judged_s:.0f} posts/s "
                   f"(batches of {batch}, {threads} threads; one thread {len(posts) / single_s:.0f}); "
                   f"jieba.lcut {len(texts) / jieba_s:.0f} posts/s ({tokens} tokens)")
    pipeline_s = min(r[0] for r in rounds_s)
    single_s = min(r[1] for r in rounds_s)
    jieba_s = min(r[2] for r in rounds_s)
    typer.echo(f"规则 rules: {rules}")

    # Where the time goes, over the same batches: the field model (which prepares the batch:
    # normalising, cutting, hashing, and scores it for both models in one pass when they share
    # a tokenizer), then the sentiment model on the prepared batch, as in the judgement;
    # ``rest`` is everything else (place, severity, signals, routing).
    pairs = [(p.title, p.text) for p in map(PostInput.of, posts) if p.full_text()]
    threshold = judge.signals.config.negative_threshold
    model_s = {"field_model": 0.0, "sentiment_model": 0.0}
    for start in range(0, len(pairs), batch):
        t0 = time.perf_counter()
        chunk = TextBatch.of(pairs[start : start + batch])
        if judge.score_batch is not None:
            judge.score_batch(chunk)  # both models in one pass, as the judgement scores them
        if judge.fields is not None:
            judge.fields(chunk)
        t1 = time.perf_counter()
        if judge.signals.sentiment_model is not None:
            judge.signals.sentiment_model(chunk, threshold)
        model_s["field_model"] += t1 - t0
        model_s["sentiment_model"] += time.perf_counter() - t1
    for name, seconds in model_s.items():
        typer.echo(f"{name}: {len(posts) / seconds:.0f} posts/s ({seconds / single_s:.0%} of the judgement on one thread)")

    latencies = []
    for post in posts:
        t1 = time.perf_counter()
        judge.judge(post)
        latencies.append((time.perf_counter() - t1) * 1000)
    typer.echo(f"单条 one by one: {len(posts) / (sum(latencies) / 1000):.0f} posts/s")

    latencies.sort()
    result = {
        "posts": len(posts),
        "posts_per_s": round(len(posts) / pipeline_s, 1),
        "jieba_posts_per_s": round(len(texts) / jieba_s, 1),
        "ratio": round(jieba_s / pipeline_s, 2),
        "threads": threads,
        "posts_per_s_one_thread": round(len(posts) / single_s, 1),
        "ratio_one_thread": round(jieba_s / single_s, 2),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 3),
        "batch": batch,
        "rounds": [{"posts_per_s": round(len(posts) / a, 1), "jieba_posts_per_s": round(len(texts) / b, 1)}
                   for a, _, b in rounds_s],
        "load_s": round(load_s, 2),
        "memory": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "memory_judgement": round(judge_memory, 1),
        "field_model": judge.fields is not None,
        "sentiment_model": judge.signals.sentiment_model is not None,
        "share": {name: round(seconds / single_s, 3) for name, seconds in model_s.items()},
        "rest_posts_per_s": round(len(posts) / max(1e-9, single_s - sum(model_s.values())), 1),
        "rules": rules,
    }
    typer.echo(json.dumps(result, ensure_ascii=False))
