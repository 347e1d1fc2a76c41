"""The responder stage on the embedded bus: create-or-attach, updates, idempotent replays, poison
records, events after commit, and ``huiyin respond`` draining on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from huiyin.config.settings import Settings
from huiyin.responder import audit
from huiyin.responder.bus.embedded import EmbeddedBus
from huiyin.responder.stage import ResponderStage
from huiyin.responder.store import open_database
from huiyin.responder.store.tables import (
    Accountability, AuditRecord, Deadline, Incident, Post, ProcessedMessage, RoutingDecision, StageEvent,
)
from tests.responder_support import ORG_FILE, T0, FakeClock, responder_settings, routed, small_org


class Stage:
    def __init__(self, tmp_path: Path, url: str | None = None) -> None:
        self.settings = responder_settings(tmp_path)
        self.db = open_database(url or self.settings.db_url)
        self.bus = EmbeddedBus(self.settings.data_dir / "bus.db")
        self.clock = FakeClock()
        self.topic = self.settings.topics.incidents_routed

    def runner(self) -> Any:
        return ResponderStage(self.settings, self.db, small_org(), self.bus, clock=self.clock)

    def push(self, *records: dict[str, Any]) -> int:
        self.bus.publish_many(self.topic, [(r["cluster_key"], r) for r in records])
        return self.runner().run_until_idle()

    def count(self, model: type) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def snapshot(self) -> dict[str, Any]:
        with self.db.session() as s:
            return {
                "incidents": [(i.id, i.post_count, i.repost_count, round(i.heat, 3), i.version, i.severity)
                              for i in s.scalars(select(Incident).order_by(Incident.id))],
                "posts": [(p.id, p.incident_id, p.likes, p.version) for p in s.scalars(select(Post).order_by(Post.id))],
                "deadlines": self.count(Deadline), "decisions": self.count(RoutingDecision),
                "timeline": self.count(StageEvent), "audit": self.count(AuditRecord),
            }

    def events(self) -> list[dict[str, Any]]:
        with self.bus.consumer([self.settings.topics.incident_events], f"reader-{time.monotonic_ns()}") as c:
            out: list[dict[str, Any]] = []
            while batch := c.poll(0.05, 1000):
                out += [m.value for m in batch]
            return out


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    st = Stage(tmp_path)
    yield st
    st.bus.close()
    st.db.dispose()


def test_posts_of_one_cluster_make_one_incident_with_its_clocks(stage: Stage) -> None:
    assert stage.push(
        routed("test:1", cluster_key="k1", likes=4),
        routed("test:2", cluster_key="k1", reposts=10),
        routed("test:3", cluster_key="k2", severity="重大"),
    ) == 3
    with stage.db.session() as s:
        incidents = {i.cluster_key: i for i in s.scalars(select(Incident))}
        assert set(incidents) == {"k1", "k2"}
        k1 = incidents["k1"]
        assert (k1.post_count, k1.repost_count, k1.stage, k1.unit_id) == (2, 10, "收集", "130123.housing")
        assert k1.jurisdiction_path == "/130000/130100/130123/" and k1.detected_at == T0
        assert [d.rule for d in k1.deadlines] == ["response_48h"]
        assert sorted(d.rule for d in incidents["k2"].deadlines) == ["authoritative_info_5h", "press_conference_24h"]
        (decision,) = k1.decisions
        assert decision.rule == "single_unit" and decision.reasons == ["关键词：保障房", "地点：正定县"]
        assert audit.verify(s).ok
    events = stage.events()
    assert [e["type"] for e in events].count("created") == 2
    assert [e["type"] for e in events].count("post_attached") == 1
    created = next(e for e in events if e["type"] == "created" and e["data"]["cluster_key"] == "k1")
    assert created["data"]["deadlines"][0]["rule"] == "response_48h" and created["unit_id"] == "130123.housing"


def test_replayed_messages_change_nothing(stage: Stage) -> None:
    records = [routed(f"test:{i}", cluster_key=f"k{i % 4}") for i in range(20)]
    records.append(routed("test:1", cluster_key="k1", kind="update", likes=50, reply_text="已转相关部门"))
    stage.push(*records)
    before = stage.snapshot()
    first_events = stage.events()
    # The router crashed after publishing and publishes everything again; then a plain redelivery.
    stage.push(*records)
    stage.push(*records)
    assert stage.snapshot() == before
    again = stage.events()[len(first_events):]
    # Replays republish the same event ids (a crash may have come between commit and publish).
    assert {e["event_id"] for e in again} <= {e["event_id"] for e in first_events}
    assert len(again) == 2 * len(first_events)


def test_updates_change_counts_and_reply_and_bump_the_version(stage: Stage) -> None:
    stage.push(routed("test:1", likes=1))
    stage.push(routed("test:1", kind="update", likes=30, reposts=8, reply_text="已安排维修"))
    with stage.db.session() as s:
        post = s.get(Post, "test:1")
        assert post is not None and (post.likes, post.reposts, post.reply_text, post.version) == (30, 8, "已安排维修", 2)
        inc = s.scalars(select(Incident)).one()
        assert inc.post_count == 1 and inc.repost_count == 8
        assert inc.heat == pytest.approx(1 + 0.5 * 8 + 0.1 * 30)
    stage.push(routed("test:1", kind="update", likes=30, reposts=8, reply_text="已安排维修"))  # same state again
    with stage.db.session() as s:
        assert s.get(Post, "test:1").version == 2  # type: ignore[union-attr]
    assert "post_updated" in [e["type"] for e in stage.events()]


def test_an_update_for_an_unknown_post_creates_it(stage: Stage) -> None:
    stage.push(routed("test:9", kind="update", likes=3))
    assert stage.count(Incident) == 1 and stage.count(Post) == 1


def test_poison_records_go_to_the_dead_letter_topic_and_the_rest_continue(stage: Stage) -> None:
    stage.bus.publish_many(stage.topic, [
        ("a", routed("test:1")),
        ("b", {"post": {"id": "broken"}, "cluster_key": "b"}),  # not a RoutedPost
        ("c", routed("test:2")),
    ])
    runner = stage.runner()
    assert runner.run_until_idle() == 3
    assert runner.dead_lettered == 1 and stage.count(Incident) == 2
    with stage.bus.consumer([stage.settings.topics.dead_letter], "ops") as c:
        (dead,) = c.poll(1.0)
    assert dead.value["stage"] == "responder" and "ValidationError" in dead.value["error"]
    assert stage.bus.lag(stage.settings.responder.consumer_group, stage.topic) == 0


def test_one_poll_is_one_transaction(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure in the middle of a poll leaves nothing behind; the retry applies everything once."""
    from huiyin.responder import stage as stage_module

    calls = {"n": 0}
    real = stage_module.audit.append

    def flaky(session: Any, entries: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            from sqlalchemy.exc import OperationalError

            raise OperationalError("INSERT", {}, ConnectionError("database went away"))
        return real(session, entries)

    monkeypatch.setattr(stage_module.audit, "append", flaky)
    assert stage.push(*[routed(f"test:{i}") for i in range(10)]) == 10
    assert stage.count(Incident) == 10 and stage.count(ProcessedMessage) == 10


def test_stage_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    import uuid

    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    st = Stage(tmp_path, postgres_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        records = [routed(f"test:{i}", cluster_key=f"k{i % 50}", severity="重大" if i == 7 else None) for i in range(300)]
        assert st.push(*records) == 300
        before = st.snapshot()
        st.push(*records)
        assert st.snapshot() == before
        assert len(before["incidents"]) == 50 and before["deadlines"] == 49 + 2
    finally:
        st.bus.close()
        st.db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


# -- the responder process ------------------------------------------------------------------------
def respond_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    env.update(
        HUIYIN_DATA_DIR=str(settings.data_dir), HUIYIN_DATABASE_URL=settings.db_url, HUIYIN_BUS=settings.bus,
        HUIYIN_ORG_FILES=json.dumps([str(ORG_FILE)]), HUIYIN_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, **extra,
    )
    return env


def test_respond_command_drains_and_commits_on_sigterm(stage: Stage) -> None:
    n = 3000
    stage.bus.publish_many(stage.topic, [(f"k{i}", routed(f"test:{i}")) for i in range(n)])
    proc = subprocess.Popen([sys.executable, "-m", "huiyin.api.cli", "respond"], env=respond_env(stage.settings),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while stage.count(Incident) < 500:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert "stopped after" in err
    group = stage.settings.responder.consumer_group
    # Everything stored was committed, and nothing committed is missing.
    assert stage.bus.committed(group, stage.topic) == stage.count(Incident)
    assert stage.count(Incident) < n or stage.bus.lag(group, stage.topic) == 0


def test_start_up_check_catches_clocks_missed_while_down(stage: Stage) -> None:
    from huiyin.responder.service import run_responder

    stage.push(routed("test:major", severity="重大"))
    stage.clock.advance(hours=6)  # the responder was down across the 5 h deadline
    stop = threading.Event()
    thread = threading.Thread(target=run_responder, args=(stage.settings,),
                              kwargs=dict(stop=stop, db=stage.db, org=small_org(), bus=stage.bus, clock=stage.clock))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while stage.count(Accountability) == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
    with stage.db.session() as s:
        (acc,) = s.scalars(select(Accountability)).all()
        assert (acc.rule, acc.unit_id) == ("authoritative_info_5h", "130123.housing")
        assert acc.created_at == T0.astimezone(acc.created_at.tzinfo) + timedelta(hours=6)
    assert {"deadline_missed", "escalated"} <= {e["type"] for e in stage.events()}
