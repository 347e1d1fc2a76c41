"""The three kinds of spider crawl the local demo site (a real HTTP server) through child processes.

One module-scoped crawl of every shipped demo source, twice, feeds most tests here: the GBK board
with relative dates, the undeclared GB18030 board, RSS, the Weibo-style API, robots.txt, the blocked
source, the pages that change between visits and the reposts that cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from huiyin.config.settings import Settings
from huiyin.crawler.crawl import CrawlOptions, CrawlResult
from huiyin.crawler.dates import SHANGHAI
from huiyin.crawler.demo import DemoSite
from huiyin.crawler.runner import run_crawls
from huiyin.crawler.sources import load_sources
from huiyin.responder.store import open_database
from huiyin.responder.store.tables import SourceHealth
from tests.crawler_support import FIXED, demo_settings, read

@dataclass
class TwoRuns:
    site: DemoSite
    settings: Settings
    first: dict[str, CrawlResult]
    second: dict[str, CrawlResult]
    posts_first: dict[str, dict[str, Any]]
    posts_second: list[dict[str, Any]]
    alerts: list[dict[str, Any]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoRuns]:
    site = DemoSite(clock=lambda: FIXED).start()
    settings = demo_settings(site, tmp_path_factory.mktemp("crawl") / "var")
    sources = load_sources(settings)
    first = run_crawls(settings, sources, CrawlOptions(now=FIXED), timeout_s=300)
    posts_first = {v["id"]: v for v in read(settings, settings.topics.posts_raw, "t")}
    second = run_crawls(settings, sources, CrawlOptions(now=FIXED + timedelta(minutes=10)), timeout_s=300)
    posts_second = read(settings, settings.topics.posts_raw, "t")
    alerts = read(settings, settings.topics.ops_alerts, "t")
    yield TwoRuns(site, settings, {r.source: r for r in first}, {r.source: r for r in second}, posts_first, posts_second, alerts)
    site.stop()


def local(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(SHANGHAI) if value else None


def test_every_kind_collects_every_demo_post(runs: TwoRuns) -> None:
    counts = {name: (r.status, r.new, r.quarantined) for name, r in runs.first.items()}
    assert counts == {
        "zhengding-liuyan": ("ok", 14, 0),  # 15 listed, one under /private/ (robots.txt)
        "shijiazhuang-wenzheng": ("ok", 11, 0),
        "hebei-news-rss": ("ok", 9, 0),
        "hebei-weibo": ("ok", 22, 0),
        "shuangqiao-wenzheng": ("blocked", 0, 0),
    }
    assert len(runs.posts_first) == 56 and all(v["kind"] == "new" for v in runs.posts_first.values())
    for value in runs.posts_first.values():  # no mojibake from a wrong encoding guess
        assert "\ufffd" not in value["text"] and "Ã" not in value["text"] and "锟" not in value["text"]


def test_gbk_board_with_relative_dates_and_official_replies(runs: TwoRuns) -> None:
    p = runs.posts_first
    lamp = p["zhengding-liuyan:1001"]
    assert lamp["title"] == "正定镇常山西路路灯连续一周不亮" and lamp["text"].startswith("正定镇常山西路从育才街口")
    assert lamp["channel"] == "留言板" and lamp["source_region"] == "130123" and lamp["author"] == "常山路居民"
    assert local(lamp["published_at"]) == FIXED - timedelta(hours=3)  # "3小时前"
    assert local(p["zhengding-liuyan:1008"]["published_at"]) == FIXED  # "刚刚"
    assert local(p["zhengding-liuyan:1005"]["published_at"]) == FIXED - timedelta(minutes=40)  # "40分钟前"
    subsidy = p["zhengding-liuyan:1002"]
    assert local(subsidy["published_at"]) == datetime(2024, 3, 4, 10, 0, tzinfo=SHANGHAI)  # "昨天 10:00"
    assert subsidy["reply_text"].startswith("经核实，您户的农村危房改造补助资金")
    assert local(subsidy["reply_at"]) == datetime(2024, 3, 4, 16, 0, tzinfo=SHANGHAI)  # "03-04 16:00"
    assert (subsidy["likes"], subsidy["comments"]) == (15, 1)
    assert local(p["zhengding-liuyan:1004"]["published_at"]) == datetime(2024, 3, 3, tzinfo=SHANGHAI)  # "2024年3月3日"
    assert lamp["url"] == f"{runs.site.url}/zhengding/liuyan/thread?tid=1001"


def test_board_without_any_charset_declaration(runs: TwoRuns) -> None:
    lift = runs.posts_first["shijiazhuang-wenzheng:2001"]
    assert lift["title"] == "长安区建北街道老旧小区加装电梯进展缓慢" and "老人上下六楼太难了" in lift["text"]
    assert local(lift["published_at"]) == FIXED - timedelta(hours=9)
    assert lift["reply_text"].startswith("该小区加装电梯项目已完成规划公示")
    assert local(lift["reply_at"]) == FIXED - timedelta(hours=5)
    assert lift["likes"] == 32 and lift["channel"] == "问政"


def test_rss_feed(runs: TwoRuns) -> None:
    blast = runs.posts_first["hebei-news-rss:hebnews-demo-3001"]
    assert blast["title"] == "容城县一化工企业发生爆炸事故 已造成12人死亡" and "12人死亡" in blast["text"]
    assert local(blast["published_at"]) == FIXED - timedelta(hours=1)
    assert blast["url"] == f"{runs.site.url}/news/3001.html" and blast["channel"] == "news"


def test_json_api_with_cursor_paging_and_counts(runs: TwoRuns) -> None:
    assert runs.first["hebei-weibo"].pages == 1 + 4  # robots.txt + four cursor pages of six
    first_post = runs.posts_first["hebei-weibo:4001"]
    assert (first_post["reposts"], first_post["comments"], first_post["likes"]) == (12000, 3562, 3000)  # "1.2万", "3千+"
    assert local(first_post["published_at"]) == FIXED - timedelta(minutes=50)  # "50分钟前"
    assert local(runs.posts_first["hebei-weibo:4012"]["published_at"]) == datetime(2024, 3, 4, 9, 0, tzinfo=SHANGHAI)
    assert local(runs.posts_first["hebei-weibo:4014"]["published_at"]) == datetime(2024, 3, 3, tzinfo=SHANGHAI)  # "03-03"
    assert first_post["url"] == f"{runs.site.url}/weibo/status/4001" and first_post["author"] == "容城的小张"
    assert "<a" not in runs.posts_first["hebei-weibo:4006"]["text"]  # HTML in the API text is cleaned


def test_robots_txt_is_obeyed_with_an_honest_user_agent(runs: TwoRuns) -> None:
    assert not [path for path in runs.site.requests if path.startswith("/private/")]
    assert runs.first["zhengding-liuyan"].robots_forbidden == 1
    assert "/robots.txt" in runs.site.requests
    assert runs.site.user_agents == {runs.settings.crawler.user_agent}


def test_blocked_source_is_degraded_with_one_alert_and_no_crash(runs: TwoRuns) -> None:
    assert runs.first["shuangqiao-wenzheng"].status == "blocked"
    assert runs.second["shuangqiao-wenzheng"].status == "blocked"
    assert "验证码" in (runs.first["shuangqiao-wenzheng"].reason or "")
    # One alert: the source became degraded; the second blocked run changes nothing.
    assert [(a["type"], a["source"]) for a in runs.alerts] == [("source_degraded", "shuangqiao-wenzheng")]
    db = open_database(runs.settings.db_url, upgrade=False)
    try:
        with db.session() as session:
            rows = {r.source: r for r in session.scalars(select(SourceHealth))}
    finally:
        db.dispose()
    assert rows["shuangqiao-wenzheng"].status == "degraded" and "验证码" in (rows["shuangqiao-wenzheng"].reason or "")
    assert rows["zhengding-liuyan"].status == "ok" and rows["zhengding-liuyan"].last_items == 14


def test_pages_that_change_emit_updates_not_new_posts(runs: TwoRuns) -> None:
    assert sum(r.new for r in runs.second.values()) == 0
    updates = {v["id"]: v for v in runs.posts_second}
    assert set(updates) == {"zhengding-liuyan:1001", "hebei-weibo:4013"}
    assert all(v["kind"] == "update" for v in updates.values())
    lamp = updates["zhengding-liuyan:1001"]
    assert lamp["reply_text"].startswith("您好，您反映的常山西路路灯故障问题已收悉")
    assert (lamp["likes"], lamp["comments"]) == (9, 2)
    assert lamp["cluster_id"] == runs.posts_first["zhengding-liuyan:1001"]["cluster_id"]
    assert updates["hebei-weibo:4013"]["likes"] == 11000  # "1.1万"
    assert runs.second["zhengding-liuyan"].unchanged == 13


def test_reposts_of_one_matter_form_one_cluster(runs: TwoRuns) -> None:
    clusters: dict[str, set[str]] = defaultdict(set)
    for post_id, value in runs.posts_first.items():
        clusters[value["cluster_id"]].add(post_id)
    explosion = {f"hebei-weibo:{i}" for i in range(4001, 4009)}
    rumour = {"hebei-weibo:4009", "hebei-weibo:4010", "hebei-weibo:4011"}
    pollution = {"zhengding-liuyan:1005", "zhengding-liuyan:1014"}
    groups = sorted((members for members in clusters.values() if len(members) > 1), key=len)
    assert groups == [pollution, rumour, explosion]
    assert len(clusters) == 56 - 7 - 2 - 1
    sizes = [runs.posts_first[p]["cluster_size"] for p in explosion]
    assert max(sizes) == 8 and sorted(sizes) == list(range(1, 9))  # grows as reposts arrive


def test_a_crawl_restarted_halfway_emits_nothing_twice(tmp_path: Path) -> None:
    with DemoSite(clock=lambda: FIXED) as site:
        settings = demo_settings(site, tmp_path / "var", concurrent_per_domain=1)
        board = [s for s in load_sources(settings) if s.name == "zhengding-liuyan"]
        (half,) = run_crawls(settings, board, CrawlOptions(now=FIXED, max_items=5), timeout_s=300)
        assert half.finish_reason == "closespider_itemcount" and 5 <= half.new < 14
        (rest,) = run_crawls(settings, board, CrawlOptions(now=FIXED), timeout_s=300)
    ids = [v["id"] for v in read(settings, settings.topics.posts_raw, "t") if v["kind"] == "new"]
    assert len(ids) == len(set(ids)) == 14
    assert half.new + rest.new == 14 and rest.unchanged + rest.updated == half.new
