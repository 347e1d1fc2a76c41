"""``huiyin bench classify``: runs the whole judgement and plain jieba, last line JSON (figures only)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from huiyin.api.cli import app
from tests.classifier_data import make_rows, write_csv


def test_bench_classify_prints_its_figures(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "posts.csv", make_rows(per_label=10))
    result = CliRunner().invoke(app, ["--config-dir", "", "bench", "classify", "--data", str(data), "--batch", "16"])
    assert result.exit_code == 0, (result.output, result.exception)
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"posts", "posts_per_s", "jieba_posts_per_s", "ratio", "p99_ms", "memory", "threads",
            "posts_per_s_one_thread", "ratio_one_thread"} <= set(last)
    assert last["posts"] == 40 and sum(last["rules"].values()) == 40
    assert last["field_model"] and last["sentiment_model"]
    assert last["posts_per_s"] > 0 and last["ratio"] > 0 and 0 < last["share"]["field_model"] < 1


def test_bench_classify_times_threads_and_one_thread(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "posts.csv", make_rows(per_label=40))
    args = ["--config-dir", "", "bench", "classify", "--data", str(data), "--threads", "2", "--rounds", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["threads"] == 2 and sum(last["rules"].values()) == 160
    assert last["posts_per_s_one_thread"] > 0 and last["ratio_one_thread"] > 0


def test_bench_classify_refuses_empty_data(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("title,detail,label\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--config-dir", "", "bench", "classify", "--data", str(empty)])
    assert result.exit_code == 1 and "没有可用的帖子" in result.output
