"""The responder on a real Apache Kafka broker: SIGKILL in the middle of 10,000 incidents, a broker
restart under load, and a responder stopped across the 5 h clock of a 重大 incident."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bench.kafka_broker import KafkaBroker
from huiyin.config.errors import BusError
from huiyin.config.settings import Settings, load_settings
from huiyin.responder import audit
from huiyin.responder.bus.kafka import KafkaBus
from huiyin.responder.service import run_responder
from huiyin.responder.store import Database, open_database
from huiyin.responder.store.tables import (
    Accountability, AuditRecord, Deadline, Escalation, Incident, Post, ProcessedMessage,
)
from tests.responder_support import ORG_FILE, routed, small_org

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parent.parent
SESSION_S = 6.0  # the broker's group.min.session.timeout.ms: a SIGKILLed member is dropped after this


@pytest.fixture
def setup(kafka_broker: KafkaBroker, kafka_names: tuple[str, str], tmp_path: Path) -> Iterator[tuple[Settings, Database]]:
    topic, group = kafka_names
    settings = load_settings(
        config_dir="", data_dir=tmp_path / "var", bus="kafka", kafka_bootstrap=kafka_broker.bootstrap,
        org_files=(str(ORG_FILE),), responder={"consumer_group": group, "check_interval_s": 3600},
        kafka_session_timeout_s=SESSION_S,
        topics={"posts_raw": f"{topic}.raw", "incidents_routed": f"{topic}.routed",
                "incident_events": f"{topic}.events", "dead_letter": f"{topic}.dlq", "ops_alerts": f"{topic}.ops"},
    )
    db = open_database(settings.db_url)
    yield settings, db
    db.dispose()


def proc_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    env.update(
        HUIYIN_DATA_DIR=str(settings.data_dir), HUIYIN_DATABASE_URL=settings.db_url, HUIYIN_BUS="kafka",
        HUIYIN_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, HUIYIN_ORG_FILES=json.dumps([str(ORG_FILE)]),
        HUIYIN_KAFKA_SESSION_TIMEOUT_S=str(settings.kafka_session_timeout_s),
        HUIYIN_RESPONDER__CONSUMER_GROUP=settings.responder.consumer_group,
        HUIYIN_TOPICS__INCIDENTS_ROUTED=settings.topics.incidents_routed,
        HUIYIN_TOPICS__INCIDENT_EVENTS=settings.topics.incident_events,
        HUIYIN_TOPICS__DEAD_LETTER=settings.topics.dead_letter,
    )
    return env


def start_responder(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """``huiyin respond`` as its own process (SIGTERM drains and commits); its Kafka session timeout
    comes from the settings (HUIYIN_KAFKA_SESSION_TIMEOUT_S), so a restart after SIGKILL gets the
    partitions back within seconds."""
    return subprocess.Popen([sys.executable, "-m", "huiyin.api.cli", "respond"], env=proc_env(settings), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def wait_for(check: Callable[[], bool], timeout_s: float, what: str, proc: subprocess.Popen[bytes] | None = None,
             log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"responder exited ({proc.returncode}) waiting for {what}:\n"
                                 f"{log.read_text()[-4000:] if log else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-4000:] if log else ''}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()[-4000:]


def publish_all(settings: Settings, records: list[dict[str, Any]]) -> None:
    with KafkaBus(settings) as bus:
        for i in range(0, len(records), 1000):
            bus.publish_many(settings.topics.incidents_routed, [(r["cluster_key"], r) for r in records[i:i + 1000]])
        bus.flush()


def test_consumers_take_the_session_timeout_from_the_settings(setup: tuple[Settings, Database]) -> None:
    settings, _ = setup
    with KafkaBus(settings) as bus, bus.consumer([settings.topics.incidents_routed], settings.responder.consumer_group) as c:
        config = c._client.config  # type: ignore[attr-defined]  # the kafka-python client behind the adapter
        assert (config["session_timeout_ms"], config["heartbeat_interval_ms"]) == (6000, 600)
        assert config["enable_auto_commit"] is False
    assert load_settings(config_dir="").kafka_session_timeout_s == 10.0  # production: back within ~10 s


def test_sigkill_in_the_middle_of_10000_incidents(setup: tuple[Settings, Database], tmp_path: Path) -> None:
    settings, db = setup
    n = 10_000
    now = datetime.now(UTC)  # recent posts: the start-up check after the kill has no old clocks to settle
    records = [routed(f"test:{i}", cluster_key=f"k{i}", severity="重大" if i % 10 == 0 else None, fetched_at=now)
               for i in range(n)]
    publish_all(settings, records)
    log = tmp_path / "responder.log"
    proc = start_responder(settings, log)
    wait_for(lambda: count(db, Incident) >= 3000, 120, "3,000 incidents", proc, log)
    proc.kill()  # SIGKILL: no drain, no commit; a poll may be half applied
    proc.wait()
    killed_at = count(db, Incident)
    assert killed_at < n, "the kill came too late to prove anything"
    proc = start_responder(settings, log)
    wait_for(lambda: count(db, Incident) == n, 180, f"{n} incidents", proc, log)
    time.sleep(1.0)  # let redelivered records (already applied) pass through
    stop(proc, log)
    with db.session() as s:
        assert s.scalar(select(func.count(func.distinct(Incident.cluster_key)))) == n
        assert count(db, Post) == n and count(db, ProcessedMessage) == n
        per_incident = dict(s.execute(select(Deadline.incident_id, func.count()).group_by(Deadline.incident_id)).all())
        assert len(per_incident) == n
        majors = {i for i, in s.execute(select(Incident.id).where(Incident.severity == "重大"))}
        assert len(majors) == n // 10
        assert all(per_incident[i] == (2 if i in majors else 1) for i in per_incident)
        created = s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "created"))
        assert created == n  # replays audited nothing twice
        assert audit.verify(s).ok
    print(f"\nkilled at {killed_at} incidents; restart completed {n}")


def test_broker_restart_under_load_loses_nothing(
    setup: tuple[Settings, Database], kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    settings, db = setup
    n = 4000
    log = tmp_path / "responder.log"
    proc = start_responder(settings, log)
    published = threading.Event()
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            with KafkaBus(settings) as bus:
                for start in range(0, n, 100):
                    batch = [routed(f"test:{i}", cluster_key=f"k{i}", fetched_at=datetime.now(UTC))
                             for i in range(start, start + 100)]
                    while True:  # a batch whose delivery failed is sent again: the responder deduplicates
                        try:
                            bus.publish_many(settings.topics.incidents_routed, [(r["cluster_key"], r) for r in batch])
                            bus.flush(timeout_s=60)
                            break
                        except BusError:
                            time.sleep(1.0)
                    time.sleep(0.02)
            published.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    producer = threading.Thread(target=produce)
    producer.start()
    wait_for(lambda: count(db, Incident) >= 800, 120, "800 incidents before the restart", proc, log)
    kafka_broker.stop()  # controlled shutdown in the middle of the stream
    time.sleep(2.0)
    kafka_broker.start()
    producer.join(300)
    assert not errors and published.is_set()
    wait_for(lambda: count(db, Incident) == n, 240, f"{n} incidents after the restart", proc, log)
    stop(proc, log)
    with db.session() as s:
        assert count(db, Post) == n and count(db, ProcessedMessage) == n
        assert s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "created")) == n
        assert audit.verify(s).ok


def test_responder_stopped_across_a_5h_deadline_records_the_miss_on_restart(
    setup: tuple[Settings, Database], tmp_path: Path
) -> None:
    settings, db = setup
    now = datetime.now(UTC)
    publish_all(settings, [routed("test:major", severity="重大", fetched_at=now, text="正定县一化工厂爆炸，已致10人死亡")])
    log = tmp_path / "responder.log"
    proc = start_responder(settings, log)
    wait_for(lambda: count(db, Incident) == 1, 120, "the 重大 incident", proc, log)
    stop(proc, log)  # SIGTERM: drained and committed; nobody watches the clock now
    with db.session() as s:
        five = s.scalars(select(Deadline).where(Deadline.rule == "authoritative_info_5h")).one()
        assert five.status == "open" and five.due_at == now + timedelta(hours=5)

    # Six hours later the responder starts again (the clock is injected; nobody sleeps for hours).
    later = now + timedelta(hours=6)
    stop_flag = threading.Event()
    bus = KafkaBus(settings)
    thread = threading.Thread(target=run_responder, args=(settings,),
                              kwargs=dict(stop=stop_flag, db=db, org=small_org(), bus=bus, clock=lambda: later))
    thread.start()
    try:
        wait_for(lambda: count(db, Accountability) >= 1, 60, "the miss")
    finally:
        stop_flag.set()
        thread.join(60)
        bus.close()
    with db.session() as s:
        acc = {a.rule: a for a in s.scalars(select(Accountability))}
        assert set(acc) == {"authoritative_info_5h"}  # the 24 h press-conference clock has not run out yet
        assert acc["authoritative_info_5h"].unit_id == "130123.housing"
        esc = s.scalars(select(Escalation).where(Escalation.kind == "miss")).all()
        assert all(e.to_unit_ids == ["130100.housing", "130123.publicity"] for e in esc)
        assert s.scalars(select(Deadline.status).where(Deadline.rule == "authoritative_info_5h")).one() == "missed"
        assert audit.verify(s).ok
    events = read_events(settings)
    types = [e["type"] for e in events]
    assert "created" in types and "deadline_missed" in types and "escalated" in types
    missed = next(e for e in events if e["type"] == "deadline_missed")
    assert missed["data"]["rule"] == "authoritative_info_5h" and missed["data"]["escalated_to"][0] == "130100.housing"


def read_events(settings: Settings, quiet_s: float = 2.0) -> list[dict[str, Any]]:
    with KafkaBus(settings) as bus, bus.consumer([settings.topics.incident_events], f"reader-{time.time_ns()}") as c:
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        last = time.monotonic()
        while time.monotonic() < deadline and (not out or time.monotonic() - last < quiet_s):
            batch = c.poll(0.5)
            if batch:
                out += [m.value for m in batch]
                last = time.monotonic()
        return out
