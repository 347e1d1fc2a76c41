"""The storage layer on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from huiyin.config.errors import StoreError
from huiyin.responder.store import open_database
from huiyin.responder.store.tables import AuditRecord, Deadline, Incident, Post, RoutingDecision

SHANGHAI = timezone(timedelta(hours=8))


def _incident(**kw: object) -> Incident:
    base = dict(
        id="INC-1", cluster_key="c1", title="正定县某小区停水", jurisdiction_id="130123", unit_id="130123.housing",
        detected_at=datetime(2026, 3, 5, 9, 0, tzinfo=SHANGHAI), place={"county": "正定县"}, co_unit_ids=[],
    )
    base.update(kw)
    return Incident(**base)


def test_migrates_to_head_and_is_idempotent(database_url: str) -> None:
    db = open_database(database_url)
    first = db.current_revision()
    db.upgrade()
    assert first is not None and db.current_revision() == first
    db.dispose()


def test_incident_round_trip_keeps_time_zone_and_json(database_url: str) -> None:
    db = open_database(database_url)
    with db.transaction() as s:
        inc = _incident(signals={"rumour": {"words": ["网传"]}})
        s.add(inc)
        s.add(RoutingDecision(incident=inc, unit_id="130123.housing", rule="single_unit", reasons=["关键词：停水"]))
        s.add(Deadline(incident=inc, rule="response_48h", label="48小时内回应", unit_id="130123.housing",
                       starts_at=inc.detected_at, due_at=inc.detected_at + timedelta(hours=48)))
    with db.session() as s:
        got = s.get(Incident, "INC-1")
        assert got is not None
        assert got.detected_at == datetime(2026, 3, 5, 1, 0, tzinfo=UTC)
        assert got.detected_at.tzinfo is not None
        assert got.signals["rumour"]["words"] == ["网传"]
        assert got.stage == "收集" and got.status == "open"
        assert [d.rule for d in got.deadlines] == ["response_48h"]
        assert got.decisions[0].reasons == ["关键词：停水"]
    db.dispose()


def test_naive_datetimes_are_refused(database_url: str) -> None:
    db = open_database(database_url)
    with pytest.raises(StatementError, match="naive"):
        with db.transaction() as s:
            s.add(_incident(detected_at=datetime(2026, 3, 5, 9, 0)))
    db.dispose()


def test_one_deadline_per_rule_and_one_post_per_source_item(database_url: str) -> None:
    db = open_database(database_url)
    now = datetime.now(UTC)
    with db.transaction() as s:
        s.add(_incident())
    with pytest.raises(IntegrityError):
        with db.transaction() as s:
            for _ in range(2):
                s.add(Deadline(incident_id="INC-1", rule="r", label="x", unit_id="u", starts_at=now, due_at=now))
    with pytest.raises(IntegrityError):
        with db.transaction() as s:
            for i in range(2):
                s.add(Post(id=f"p{i}", source="demo", external_id="1", text="t", content_hash="h"))
    db.dispose()


def test_audit_log_refuses_update_and_delete(database_url: str) -> None:
    db = open_database(database_url)
    with db.transaction() as s:
        s.add(AuditRecord(actor="router", action="route", entity="incident", entity_id="INC-1", prev_hash="0" * 64, hash="a" * 64))
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
    with db.session() as s:
        assert s.scalars(select(AuditRecord.actor)).all() == ["router"]
    db.dispose()


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="127.0.0.1:1"):
        open_database("postgresql+psycopg://u:secret@127.0.0.1:1/x")
