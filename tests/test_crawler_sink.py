"""The sink (emit once, updates, crawl state), near-duplicate clusters and source health,
on SQLite and PostgreSQL, with the real embedded bus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from huiyin.config.settings import Settings
from huiyin.crawler import health
from huiyin.crawler.cluster import NearDuplicates
from huiyin.crawler.normalise import RawPost, normalise
from huiyin.crawler.sink import PostSink
from huiyin.responder.bus import Bus, Message, open_bus
from huiyin.responder.bus.messages import PostRecord
from huiyin.responder.store import Database, open_database
from huiyin.responder.store.tables import CrawlState, NearDupSignature, QuarantineRecord, SourceHealth

NOW = datetime(2024, 3, 5, 4, 0, tzinfo=UTC)
EXPLOSION = "容城县开发区那边一个化工厂刚才爆炸了，声音特别大，窗户都在震，浓烟一直往上冒，救护车和消防车一辆接一辆往里开"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def bus(settings: Settings) -> Iterator[Bus]:
    b = open_bus(settings)
    yield b
    b.close()


def post(external_id: str, text: str, *, source: str = "weibo", likes: int = 0, reply: str | None = None) -> PostRecord:
    return normalise(RawPost(source=source, external_id=external_id, body=text, likes=likes, reply=reply), now=NOW)


def drain(bus: Bus, topic: str, group: str = "test") -> list[Message]:
    with bus.consumer([topic], group) as consumer:
        messages = consumer.poll(0.2, 10_000)
        consumer.commit()
    return messages


def test_a_post_is_emitted_once_and_changes_become_updates(settings: Settings, db: Database, bus: Bus) -> None:
    sink = PostSink(settings, db, bus, clock=lambda: NOW).open()
    assert sink.submit(post("1", "路灯不亮已经一周了，晚上出行很危险", likes=3)) == "new"
    assert sink.submit(post("1", "路灯不亮已经一周了，晚上出行很危险", likes=3)) == "unchanged"  # same batch
    sink.flush()
    assert sink.submit(post("1", "路灯不亮已经一周了，晚上出行很危险", likes=3)) == "unchanged"
    assert sink.submit(post("1", "路灯不亮已经一周了，晚上出行很危险", likes=9)) == "update"
    assert sink.submit(post("1", "路灯不亮已经一周了，晚上出行很危险", likes=9, reply="已维修")) == "update"
    sink.close()
    values = [m.value for m in drain(bus, settings.topics.posts_raw)]
    assert [(v["id"], v["kind"], v["likes"], v["reply_text"]) for v in values] == [
        ("weibo:1", "new", 3, None), ("weibo:1", "update", 9, None), ("weibo:1", "update", 9, "已维修"),
    ]
    assert all(v["cluster_id"] == "weibo:1" for v in values)
    # Seen-state is in the database: a new sink (a restarted crawler) emits nothing for it.
    again = PostSink(settings, db, bus, clock=lambda: NOW).open()
    assert again.submit(post("1", "路灯不亮已经一周了，晚上出行很危险", likes=9, reply="已维修")) == "unchanged"
    again.close()
    assert drain(bus, settings.topics.posts_raw) == []
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(CrawlState)) == 1


def test_batches_flush_by_size_and_new_then_changed_in_one_batch(settings: Settings, db: Database, bus: Bus) -> None:
    sink = PostSink(settings, db, bus, clock=lambda: NOW, batch_size=3).open()
    for i in range(7):
        sink.submit(post(str(i), f"第{i}号楼附近的道路坑洼积水，车辆行人都很难通过，编号{i * 7919}"))
    assert len(drain(bus, settings.topics.posts_raw)) == 6  # two full batches are on the bus already
    assert sink.submit(post("6", "第6号楼附近的道路坑洼积水，车辆行人都很难通过，编号47514", likes=1)) == "update"
    sink.close()
    with db.session() as session:
        state = session.get(CrawlState, ("weibo", "6"))
        assert state is not None and state.state_hash != ""
    again = PostSink(settings, db, bus, clock=lambda: NOW).open()
    assert again.submit(post("6", "第6号楼附近的道路坑洼积水，车辆行人都很难通过，编号47514", likes=1)) == "unchanged"


def test_reposts_share_a_cluster_that_survives_a_restart(settings: Settings, db: Database, bus: Bus) -> None:
    sink = PostSink(settings, db, bus, clock=lambda: NOW).open()
    sink.submit(post("4001", EXPLOSION))
    sink.submit(post("4002", "扩散！" + EXPLOSION))
    sink.submit(post("4003", "转发：" + EXPLOSION + " 希望大家平安"))
    sink.submit(post("9", "双桥区避暑山庄附近每到周末就堵成停车场，公交车半小时挪不了一站"))
    sink.submit(post("10", "短"))  # too short to compare: no cluster
    sink.close()
    values = {m.value["id"]: m.value for m in drain(bus, settings.topics.posts_raw)}
    assert {values[f"weibo:{i}"]["cluster_id"] for i in ("4001", "4002", "4003")} == {"weibo:4001"}
    assert values["weibo:4003"]["cluster_size"] == 3
    assert values["weibo:9"]["cluster_id"] == "weibo:9"
    assert values["weibo:10"]["cluster_id"] is None
    # Restart: the index is rebuilt from the stored signatures; a new repost joins the old cluster.
    restarted = PostSink(settings, db, bus, clock=lambda: NOW + timedelta(hours=1)).open()
    restarted.submit(post("77", "#容城爆炸# " + EXPLOSION, source="board"))
    restarted.close()
    (value,) = [m.value for m in drain(bus, settings.topics.posts_raw)]
    assert value["cluster_id"] == "weibo:4001" and value["cluster_size"] == 4
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(NearDupSignature)) == 5


def test_the_window_limits_what_is_loaded_and_refresh_sees_other_writers(settings: Settings, db: Database, bus: Bus) -> None:
    old = PostSink(settings, db, bus, clock=lambda: NOW - timedelta(days=40)).open()
    old.submit(post("1", EXPLOSION))
    old.close()
    late = NearDuplicates(db, threshold=0.6, window=timedelta(days=30), clock=lambda: NOW)
    assert late.load() == 0
    assert late.assign("weibo:2", "扩散！" + EXPLOSION).cluster_id == "weibo:2"  # a new matter after 30 days
    # Another process stores a signature after this index was loaded: refresh picks it up.
    other = NearDuplicates(db, threshold=0.6, clock=lambda: NOW)
    other.load()
    writer = PostSink(settings, db, bus, clock=lambda: NOW).open()
    writer.submit(post("5", "丛台区一家普惠性幼儿园开学又要交三千块特色课程费，不交就不让上兴趣班"))
    writer.close()
    assert other.refresh() == 1
    assert other.assign("board:6", "丛台区一家普惠性幼儿园开学又要交三千块特色课程费，不交就不让上兴趣班！").cluster_id == "weibo:5"


def test_quarantine_keeps_the_reason_and_a_bounded_payload(settings: Settings, db: Database, bus: Bus) -> None:
    sink = PostSink(settings, db, bus, clock=lambda: NOW).open()
    sink.quarantine(source="board", reason="二进制内容", payload=b"\x89PNG" + b"\x00" * 5000, url="http://x/t?tid=4")
    sink.quarantine(source="board", reason="正文过长", payload="长" * 50_000, url="http://x/t?tid=3")
    sink.close()
    with db.session() as session:
        rows = session.scalars(select(QuarantineRecord).order_by(QuarantineRecord.id)).all()
    assert [r.reason for r in rows] == ["二进制内容", "正文过长"]
    assert '"bytes": 5004' in rows[0].payload and len(rows[1].payload) < 9000
    assert all(r.stage == "crawl" and not r.resolved for r in rows)
    assert sink.counts["quarantined"] == 2


def test_health_alerts_on_change_only(settings: Settings, db: Database, bus: Bus) -> None:
    assert health.mark_degraded(db, bus, settings, "board", "HTTP 403 禁止访问", url="http://x", at=NOW)
    assert not health.mark_degraded(db, bus, settings, "board", "HTTP 403 禁止访问", url="http://x", at=NOW)
    assert health.mark_degraded(db, bus, settings, "board", "验证码", url="http://x", at=NOW)
    assert health.mark_ok(db, bus, settings, "board", items=5, at=NOW + timedelta(minutes=10))
    assert not health.mark_ok(db, bus, settings, "board", items=5, at=NOW + timedelta(minutes=20))
    alerts = [m.value for m in drain(bus, settings.topics.ops_alerts)]
    assert [(a["type"], a["reason"]) for a in alerts] == [
        ("source_degraded", "HTTP 403 禁止访问"), ("source_degraded", "验证码"), ("source_recovered", None),
    ]
    assert alerts[0]["severity"] == "warning" and "board" in alerts[0]["message"]
    with db.session() as session:
        row = session.get(SourceHealth, "board")
        assert row is not None and row.status == "ok" and row.last_items == 5
