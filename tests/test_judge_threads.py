"""The judgement on a pool of threads: the same decisions, in the same order, as on one thread."""

from __future__ import annotations

from huiyin.classifier.judge import MIN_PART, Judge, usable_threads
from tests.classifier_data import make_rows
from tests.classifier_support import model_judge


def _posts() -> list[dict[str, object]]:
    rows = make_rows(per_label=60, seed=5)
    posts: list[dict[str, object]] = [{"id": r["id"], "title": r["title"], "text": r["detail"]} for r in rows]
    # Mixed in: places, grades, rumours, engagement, and posts with nothing to judge.
    posts[3] = {"id": "place", "text": "石家庄市长安区建北街道某小区停水三天，网传有人受伤", "likes": 900}
    posts[70] = {"id": "flood", "text": "邢台市信都区山洪致3人死亡、12人受伤，另有5人被困"}
    posts[140] = {"id": "empty", "text": ""}
    posts[141] = {"id": "emoji", "text": "😡😡😡"}
    posts[200] = {"id": "english", "text": "The water has been cut off for three days in our district."}
    return posts


def test_threads_give_the_decisions_of_one_thread() -> None:
    base = model_judge()
    posts = _posts()
    one = Judge(base.org, base.locator, base.grader, base.signals, base.router, base.fields, threads=1)
    two = Judge(base.org, base.locator, base.grader, base.signals, base.router, base.fields, threads=2)
    assert len(two._parts(len(posts))) == 3 and len(posts) >= 3 * MIN_PART  # really cut in parts
    expected = [r.model_dump() for r in one.judge_many(posts)]
    for _ in range(2):  # the pool is reused between batches
        assert [r.model_dump() for r in two.judge_many(posts)] == expected
    assert [r.model_dump() for r in two.judge_many(posts[:10])] == expected[:10]  # a small batch: one part
    assert expected[3]["place"]["county"] and expected[70]["severity"]


def test_zero_threads_means_every_usable_core() -> None:
    assert usable_threads(3) == 3
    assert usable_threads(0) >= 1
