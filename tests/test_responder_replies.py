"""Official replies on government boards (留言板/问政) are responses: recorded once per post and
reply text, meeting the clocks any response meets, without moving the matter past 研判."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from huiyin.responder import audit
from huiyin.responder.bus.base import Message
from huiyin.responder.bus.embedded import EmbeddedBus
from huiyin.responder.checker import DeadlineChecker
from huiyin.responder.context import Context
from huiyin.responder.stage import ResponderHandler
from huiyin.responder.store import Database, open_database
from huiyin.responder.store.tables import (
    Accountability, AuditRecord, Deadline, Escalation, Incident, Response, StageEvent,
)
from huiyin.responder.workflow import Actor, Workflow
from tests.responder_support import T0, FakeClock, responder_settings, routed, small_org

PUB = Actor("xuan", "130123.publicity", "publicity")
HOUSING = Actor("zhu", "130123.housing", "unit")
REPLY = "您好，经核实，小区供水管道已于3月6日修复，供水恢复正常。正定县住建局"
BOARD = "留言板"


@dataclass
class World:
    db: Database
    bus: EmbeddedBus
    clock: FakeClock
    handler: ResponderHandler
    wf: Workflow
    ctx: Context
    events_topic: str

    def push(self, *records: dict[str, Any]) -> None:
        """One poll of the responder stage."""
        self.handler([Message("incidents.routed", 0, i, r["cluster_key"], r) for i, r in enumerate(records)])

    def incident(self) -> Incident:
        with self.db.session() as s:
            inc = s.scalars(select(Incident)).one()
            _ = inc.deadlines
            return inc

    def clocks(self) -> dict[str, Deadline]:
        return {d.rule: d for d in self.incident().deadlines}

    def responses(self) -> list[Response]:
        with self.db.session() as s:
            return list(s.scalars(select(Response).order_by(Response.id)))

    def count(self, model: type) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def events(self) -> list[dict[str, Any]]:
        with self.bus.consumer([self.events_topic], f"reader-{time.monotonic_ns()}") as c:
            out: list[dict[str, Any]] = []
            while batch := c.poll(0.05, 1000):
                out += [m.value for m in batch]
            return out


def _world(tmp_path: Path, url: str | None = None) -> Iterator[World]:
    settings = responder_settings(tmp_path)
    db = open_database(url or settings.db_url)
    bus = EmbeddedBus(tmp_path / "bus.db")
    clock = FakeClock()
    ctx = Context.from_settings(settings, small_org())
    handler = ResponderHandler(db, ctx, bus, group="replies", clock=clock)
    yield World(db, bus, clock, handler, Workflow(db, small_org(), settings, bus, clock), ctx,
                settings.topics.incident_events)
    bus.close()
    db.dispose()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path)


@pytest.fixture
def world_any_db(tmp_path: Path, database_url: str) -> Iterator[World]:
    yield from _world(tmp_path, database_url)


def post(**kw: Any) -> dict[str, Any]:
    kw.setdefault("channel", BOARD)
    return routed("test:msg1", **kw)


def test_a_reply_on_a_new_post_is_a_response_that_meets_the_clocks(world: World) -> None:
    replied = T0 + timedelta(hours=20)
    world.clock.advance(hours=30)  # crawled after the reply was published
    world.push(post(reply_text=f"  {REPLY}  ", reply_at=replied))
    (response,) = world.responses()
    assert (response.kind, response.channel, response.content, response.link) == (
        "response", "website", REPLY, "https://example.gov.cn/test:msg1")
    assert (response.recorded_by, response.unit_id, response.published_at) == (
        "source:test", "130123.housing", replied)
    clocks = world.clocks()
    assert set(clocks) == {"response_48h", "message_board"}  # the 留言板 channel limit applies too
    assert all((d.status, d.met_at) == ("met", replied) for d in clocks.values())
    inc = world.incident()
    assert inc.stage == "收集"  # the reply does not skip 研判: people move the stage
    with world.db.session() as s:
        timeline = s.scalars(select(StageEvent).where(StageEvent.incident_id == inc.id).order_by(StageEvent.id)).all()
        assert [(e.kind, e.actor) for e in timeline] == [("stage", "system:responder"), ("response", "system:crawler")]
        assert (timeline[1].unit_id, timeline[1].from_stage, timeline[1].to_stage) == ("130123.housing", "收集", "收集")
        record = s.scalars(select(AuditRecord).where(AuditRecord.action == "response")).one()
        assert (record.actor, record.payload["role"], record.payload["unit_id"]) == (
            "system:crawler", "system", "130123.housing")
        assert sorted(record.payload["clocks_met"]) == ["message_board", "response_48h"]
        assert audit.verify(s).ok
    (event,) = [e for e in world.events() if e["type"] == "response"]
    assert (event["actor"], event["incident_id"], event["stage"]) == ("system:crawler", inc.id, "收集")
    assert event["data"]["post_id"] == "test:msg1" and event["data"]["channel"] == "website"


def test_each_reply_is_recorded_once_and_a_changed_reply_again(world: World) -> None:
    world.push(post())  # no reply yet
    assert world.responses() == []
    world.clock.advance(hours=5)
    first = post(kind="update", likes=3, reply_text=REPLY, reply_at=T0 + timedelta(hours=4))
    world.push(first)
    world.push(first)  # redelivered
    world.push(post(kind="update", likes=9, reply_text=REPLY, reply_at=T0 + timedelta(hours=4)))  # same reply
    world.push(post(kind="update", likes=9, comments=2, reply_text=REPLY))  # same reply, no date this time
    assert [r.content for r in world.responses()] == [REPLY]
    world.clock.advance(hours=5)
    followup = "补充回复：已对供水管道进行全面排查。"
    world.push(post(kind="update", likes=9, reply_text=followup, reply_at=T0 + timedelta(hours=9)))
    responses = world.responses()
    assert [(r.content, r.published_at) for r in responses] == [
        (REPLY, T0 + timedelta(hours=4)), (followup, T0 + timedelta(hours=9))]
    assert world.clocks()["response_48h"].met_at == T0 + timedelta(hours=4)  # the first reply met it
    types = [e["type"] for e in world.events()]
    assert types.count("response") == 2 + 1  # two replies, plus the redelivery's republished event
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "response")) == 2
        assert audit.verify(s).ok


def test_a_replayed_message_republishes_the_response_event_with_its_id(world: World) -> None:
    record = post(reply_text=REPLY, reply_at=T0)
    world.push(record)
    world.push(record)
    ids = [e["event_id"] for e in world.events() if e["type"] == "response"]
    assert len(ids) == 2 and len(set(ids)) == 1
    assert len(world.responses()) == 1


def test_without_reply_at_the_fetch_time_counts_and_a_future_one_is_not_believed(world: World) -> None:
    fetched = T0 + timedelta(hours=7)
    world.clock.set(fetched + timedelta(minutes=1))
    world.push(post(fetched_at=T0, reply_text=REPLY))
    world.push(routed("test:msg2", cluster_key="other", channel=BOARD, fetched_at=fetched, reply_text=REPLY,
                      reply_at=fetched + timedelta(days=2)))  # a page clock two days ahead
    assert [r.published_at for r in world.responses()] == [T0, fetched]


def test_a_late_reply_is_a_miss_with_accountability_but_records_when_it_came(world: World) -> None:
    world.push(post())
    world.clock.advance(hours=60)  # the checker has not run yet
    world.push(post(kind="update", reply_text=REPLY, reply_at=T0 + timedelta(hours=50)))
    clocks = world.clocks()
    assert (clocks["response_48h"].status, clocks["response_48h"].met_at) == ("missed", T0 + timedelta(hours=50))
    assert clocks["message_board"].status == "met"  # 5 working days: in time
    with world.db.session() as s:
        acc = s.scalars(select(Accountability)).one()
        assert (acc.rule, acc.unit_id) == ("response_48h", "130123.housing")
        assert s.scalars(select(Escalation.kind)).all() == ["miss"]
    types = [e["type"] for e in world.events()]
    assert {"response", "deadline_missed", "escalated"} <= set(types)


def test_a_clock_already_missed_keeps_its_miss_and_learns_when_it_was_answered(world: World) -> None:
    world.push(post())
    checker = DeadlineChecker(world.db, world.ctx, world.bus, world.clock)
    world.clock.advance(hours=49)
    assert checker.check_deadlines().missed == 1
    world.clock.advance(hours=2)
    world.push(post(kind="update", reply_text=REPLY, reply_at=T0 + timedelta(hours=50)))
    clocks = world.clocks()
    assert (clocks["response_48h"].status, clocks["response_48h"].met_at) == ("missed", T0 + timedelta(hours=50))
    assert world.count(Accountability) == 1 and world.count(Escalation) == 1  # nothing recorded twice


def test_in_handling_a_reply_moves_the_matter_to_response_as_the_holders_own_would(world: World) -> None:
    world.push(post())
    inc = world.incident()
    world.wf.assess(inc.id, PUB)
    world.push(post(kind="update", likes=1, reply_text="已收到，正在核实。", reply_at=T0 + timedelta(hours=1)))
    assert world.incident().stage == "研判"  # before acceptance the stage stays with people
    world.wf.accept(inc.id, HOUSING)  # the reply bumped the version; the command still applies
    world.clock.advance(hours=6)
    world.push(post(kind="update", likes=1, reply_text=REPLY, reply_at=T0 + timedelta(hours=5)))
    assert world.incident().stage == "回应"
    closed = world.wf.evaluate(inc.id, PUB, effect="留言人表示满意")
    assert (closed.stage, closed.status) == ("评估", "closed")
    with world.db.session() as s:
        kinds = s.scalars(select(StageEvent.kind).where(StageEvent.incident_id == inc.id).order_by(StageEvent.id)).all()
        assert kinds == ["stage", "stage", "response", "stage", "response", "evaluation"]
        assert audit.verify(s).ok


def test_replies_on_both_databases(world_any_db: World) -> None:
    world = world_any_db
    world.clock.advance(hours=10)
    records = [routed(f"test:{i}", cluster_key=f"k{i % 3}", channel=BOARD, reply_text=f"回复{i}",
                      reply_at=T0 + timedelta(hours=i)) for i in range(6)]
    world.push(*records)
    world.push(*records)
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 6
        met = s.scalars(select(Deadline).where(Deadline.rule == "response_48h")).all()
        # Each incident's clock is met by its earliest reply (posts i, i+3 share incident k{i}).
        assert sorted(d.met_at for d in met) == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
        assert audit.verify(s).ok
