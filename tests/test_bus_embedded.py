"""The embedded bus: durable log, commit-after-side-effect, at-least-once across a SIGKILL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from huiyin.config.errors import BusError
from huiyin.responder.bus import open_bus
from huiyin.responder.bus.embedded import EmbeddedBus


def test_round_trip_keeps_chinese_and_keys(tmp_path: Path) -> None:
    with EmbeddedBus(tmp_path / "bus.db") as bus:
        bus.publish("posts.raw", {"text": "正定县某小区停水三天，无人回应"}, key="p1")
        with bus.consumer(["posts.raw"], "g") as c:
            (m,) = c.poll(1.0)
    assert (m.topic, m.offset, m.key, m.value["text"]) == ("posts.raw", 0, "p1", "正定县某小区停水三天，无人回应")


def test_uncommitted_records_are_redelivered_to_the_group(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.publish_many("t", [(str(i), {"i": i}) for i in range(10)])
    with bus.consumer(["t"], "g") as c:
        first = c.poll(1.0, max_records=4)
        c.commit(first)
        c.poll(1.0)  # read the rest but never commit
    with bus.consumer(["t"], "g") as c:
        again = c.poll(1.0)
    assert [m.value["i"] for m in again] == list(range(4, 10))
    assert bus.lag("g", "t") == 6


def test_each_group_gets_everything_and_commit_never_moves_back(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.publish_many("t", [(None, i) for i in range(5)])
    for group in ("a", "b"):
        with bus.consumer(["t"], group) as c:
            msgs = c.poll(1.0)
            assert [m.value for m in msgs] == list(range(5))
            c.commit()
            c.commit(msgs[:1])  # an older commit must not rewind the group
    assert bus.committed("a", "t") == 5 and bus.committed("b", "t") == 5


def test_records_survive_a_restart(tmp_path: Path) -> None:
    EmbeddedBus(tmp_path / "bus.db").publish("t", {"n": 1})
    with EmbeddedBus(tmp_path / "bus.db") as bus, bus.consumer(["t"], "g") as c:
        assert [m.value for m in c.poll(1.0)] == [{"n": 1}]


def test_poll_wakes_when_a_record_arrives(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    c = bus.consumer(["t"], "g")
    threading.Timer(0.2, lambda: bus.publish("t", "late")).start()
    got = c.poll(timeout_s=5.0)
    assert [m.value for m in got] == ["late"]


def test_undecodable_value_is_returned_marked_not_raised(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus._conn.execute("INSERT INTO records VALUES ('t', 0, NULL, x'fffe00', NULL, 0)")
    (m,) = bus.consumer(["t"], "g").poll(1.0)
    assert "_undecodable" in m.value


def test_closed_bus_refuses_work(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.close()
    with pytest.raises(BusError):
        bus.publish("t", 1)


def test_open_bus_follows_settings(settings) -> None:  # type: ignore[no-untyped-def]
    with open_bus(settings) as bus:
        assert isinstance(bus, EmbeddedBus)
        assert bus.path == settings.data_dir / "bus.db"


WORKER = textwrap.dedent(
    """
    import sys, time
    from huiyin.responder.bus.embedded import EmbeddedBus
    bus = EmbeddedBus(sys.argv[1])
    c = bus.consumer(["t"], "workers")
    with open(sys.argv[2], "a") as out:
        while True:
            for m in c.poll(0.5, max_records=10):
                out.write(f"{m.value}\\n"); out.flush()   # the side effect
                if m.value == int(sys.argv[3]):
                    print("ready", flush=True)
                    time.sleep(60)                        # killed here, before commit
            c.commit()
    """
)


def test_at_least_once_when_the_consumer_is_killed_before_commit(tmp_path: Path) -> None:
    db, effects = tmp_path / "bus.db", tmp_path / "effects.txt"
    bus = EmbeddedBus(db)
    bus.publish_many("t", [(None, i) for i in range(100)])
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(db), str(effects), "42"], stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    committed = bus.committed("workers", "t")
    assert 0 < committed <= 42  # killed before committing the batch holding 42
    # A new member of the group resumes at the committed offset: the batch is delivered again.
    with bus.consumer(["t"], "workers") as c:
        seen = []
        deadline = time.monotonic() + 10
        while len(seen) < 100 - committed and time.monotonic() < deadline:
            msgs = c.poll(0.5)
            seen += [m.value for m in msgs]
            c.commit(msgs)
    processed = [int(x) for x in effects.read_text().split()] + seen
    assert set(processed) == set(range(100))  # nothing lost
    assert 42 in seen  # the uncommitted record came back: at-least-once, not at-most-once
    assert json.loads(json.dumps(bus.lag("workers", "t"))) == 0


def test_a_live_view_starts_at_the_end(tmp_path: Path) -> None:
    with EmbeddedBus(tmp_path / "bus.db") as bus:
        bus.publish_many("t", [(None, {"i": i}) for i in range(5)])
        with bus.consumer(["t"], "live", from_end=True) as live:
            assert live.poll(0.1) == []
            bus.publish("t", {"i": 5})
            assert [m.value["i"] for m in live.poll(1.0)] == [5]
            live.commit()
        with bus.consumer(["t"], "live", from_end=True) as again:  # a known group keeps its offset
            bus.publish("t", {"i": 6})
            assert [m.value["i"] for m in again.poll(1.0)] == [6]
        assert bus.lag("live", "t") == 1 and bus.lag("other", "t") == 7
