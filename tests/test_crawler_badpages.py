"""Bad pages go to quarantine, blocking marks sources degraded with an alert, a dead crawl process is
recorded; and pages built at test time from the public 留言 corpus crawl cleanly."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from huiyin.crawler.crawl import CrawlOptions
from huiyin.crawler.dates import SHANGHAI
from huiyin.crawler.demo import DemoSite
from huiyin.crawler.demo.corpus import DemoPost
from huiyin.crawler.runner import run_crawls
from huiyin.crawler.sources import Source
from huiyin.crawler.text import html_to_text
from huiyin.responder.store import open_database
from huiyin.responder.store.tables import QuarantineRecord, SourceHealth
from tests.crawler_support import FIXED, demo_settings, read

TEDDY = Path(__file__).resolve().parents[2] / "shared" / "data" / "teddy2020c" / "messages_with_likes.csv"
BOARD = {
    "list": {"item": "ul.msg-list > li.msg-item", "link": "a.msg-title::attr(href)", "next_page": "a.next-page::attr(href)"},
    "detail": {"title": "h1.msg-title::text", "body": "div.msg-body", "author": "span.msg-author::text",
               "time": "div.msg-meta span.msg-time::text", "likes": "span.msg-likes::text", "replies": "span.msg-replies::text"},
    "id_pattern": r"tid=(\d+)",
}


def board(name: str, url: str, **extra: Any) -> Source:
    return Source.model_validate({"name": name, "kind": "html", "channel": "留言板", "start_urls": [url], "html": BOARD, **extra})


def test_bad_pages_are_quarantined_and_blocks_degrade_the_source(tmp_path: Path) -> None:
    with DemoSite(clock=lambda: FIXED, huge_bytes=300_000) as site:
        settings = demo_settings(site, tmp_path / "var", max_body_bytes=100_000, retry_times=2)
        u = site.url
        sources = [
            board("bad-board", f"{u}/bad/list"),
            board("forbidden", f"{u}/forbidden/list"),
            board("rate-limited", f"{u}/ratelimited/list"),
            board("login-wall", f"{u}/loginwall/list"),
            board("moved-site", f"{u}/zhengding/liuyan/list?page=1",
                  html={**BOARD, "list": {**BOARD["list"], "item": "ul.old-layout > li"}}),
            board("unreachable", "http://127.0.0.1:9/list"),
            board("list-only", f"{u}/zhengding/liuyan/list?page=1", max_pages=3, html={
                "list": {"item": "li.msg-item", "next_page": "a.next-page::attr(href)",
                         "fields": {"title": "a.msg-title::text", "body": "a.msg-title::text", "time": "span.msg-time::text"}},
            }),
            Source.model_validate({"name": "not-json", "kind": "json_api", "channel": "政务微博",
                                   "start_urls": [f"{u}/zhengding/liuyan/list?page=1"],
                                   "json_api": {"items": "data.cards[].mblog", "fields": {"id": "id", "body": "text"}}}),
        ]
        results = {r.source: r for r in run_crawls(settings, sources, CrawlOptions(now=FIXED), timeout_s=300)}
        requests = list(site.requests)
    assert (results["bad-board"].status, results["bad-board"].new, results["bad-board"].quarantined) == ("ok", 1, 4)
    assert (results["list-only"].status, results["list-only"].new) == ("ok", 15)  # no detail pages: the list is the post
    assert {name: r.status for name, r in results.items() if name not in ("bad-board", "list-only")} == {
        "forbidden": "blocked", "rate-limited": "blocked", "login-wall": "blocked",
        "moved-site": "degraded", "unreachable": "degraded", "not-json": "degraded",
    }
    assert requests.count("/ratelimited/list") == 3  # retried with back-off before giving up
    db = open_database(settings.db_url, upgrade=False)
    try:
        with db.session() as session:
            quarantine = session.scalars(select(QuarantineRecord).order_by(QuarantineRecord.id)).all()
            health = {h.source: h for h in session.scalars(select(SourceHealth))}
    finally:
        db.dispose()
    bad = {q.url.rsplit("=", 1)[-1]: q.reason for q in quarantine if q.source == "bad-board"}
    assert "missing fields: body" in bad["2"]  # broken markup: the page ends before the body
    assert "页面过大" in bad["3"]
    assert "二进制内容" in bad["4"] and "application/octet-stream" in bad["4"]
    assert "HTTP 404" in bad["5"]
    assert {q.source for q in quarantine} >= {"bad-board", "moved-site", "unreachable", "not-json"}
    assert health["forbidden"].reason and "403" in health["forbidden"].reason
    assert health["rate-limited"].reason and "429" in health["rate-limited"].reason
    assert health["login-wall"].reason and "登录" in health["login-wall"].reason
    assert health["moved-site"].reason and "选择器" in health["moved-site"].reason
    assert health["unreachable"].reason and "下载失败" in health["unreachable"].reason
    assert health["bad-board"].status == "ok" and health["list-only"].status == "ok"
    alerts = read(settings, settings.topics.ops_alerts, "t")
    assert sorted(a["source"] for a in alerts) == sorted(n for n in results if n not in ("bad-board", "list-only"))
    assert all(a["type"] == "source_degraded" and a["message"] for a in alerts)


def test_a_crawl_process_that_overruns_is_stopped_and_recorded(tmp_path: Path) -> None:
    with DemoSite(clock=lambda: FIXED) as site:
        settings = demo_settings(site, tmp_path / "var")
        (result,) = run_crawls(settings, [board("slow", f"{site.url}/zhengding/liuyan/list?page=1")], timeout_s=0.3)
    assert result.status == "failed" and "超时" in (result.reason or "")
    (alert,) = read(settings, settings.topics.ops_alerts, "t")
    assert alert["source"] == "slow" and "超时" in alert["reason"]


@pytest.mark.skipif(not TEDDY.exists(), reason="shared 留言 corpus not available")
def test_pages_built_from_the_public_message_corpus(tmp_path: Path) -> None:
    with TEDDY.open(encoding="utf-8") as handle:
        rows = [row for _, row in zip(range(30), csv.DictReader(handle), strict=False)]
    posts = [
        DemoPost(id=int(r["留言编号"]), site="teddy", title=r["留言主题"], body=r["留言详情"], author=r["留言用户"],
                 at=datetime.strptime(r["留言时间"], "%Y/%m/%d %H:%M:%S").replace(tzinfo=SHANGHAI), likes=int(r["点赞数"]))
        for r in rows
    ]
    with DemoSite(clock=lambda: FIXED, boards={"teddy": posts}) as site:
        settings = demo_settings(site, tmp_path / "var")
        (result,) = run_crawls(settings, [board("teddy", f"{site.url}/boards/teddy/list?page=1", max_pages=20)],
                               CrawlOptions(now=FIXED), timeout_s=300)
    assert (result.status, result.new, result.quarantined) == ("ok", 30, 0)
    got = {v["external_id"]: v for v in read(settings, settings.topics.posts_raw, "t")}
    for row in rows:
        value = got[row["留言编号"]]
        assert value["text"] == html_to_text(row["留言详情"]) and value["likes"] == int(row["点赞数"])
        published = datetime.fromisoformat(value["published_at"]).astimezone(SHANGHAI)
        assert published.date() == datetime.strptime(row["留言时间"], "%Y/%m/%d %H:%M:%S").date()
        assert FIXED - published > timedelta(days=365)
