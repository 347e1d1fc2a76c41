"""The stage loop: commit after the side effect, poison records to the dead-letter topic."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import OperationalError

from huiyin.responder.bus.base import Message
from huiyin.responder.bus.embedded import EmbeddedBus
from huiyin.responder.bus.runner import StageRunner


def _runner(bus: EmbeddedBus, handler, **kw) -> StageRunner:  # type: ignore[no-untyped-def]
    return StageRunner(bus, name="test", topics=["in"], group="g", handler=handler, dead_letter_topic="dlq", **kw)


def test_poison_record_goes_to_dead_letter_and_the_rest_continue(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.publish_many("in", [(str(i), {"i": i}) for i in range(10)])
    done: list[int] = []

    def handler(batch: Sequence[Message]) -> None:
        if any(m.value["i"] == 3 for m in batch):
            raise ValueError("cannot parse record 3")
        done.extend(m.value["i"] for m in batch)

    runner = _runner(bus, handler)
    assert runner.run_until_idle() == 10
    assert sorted(done) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    with bus.consumer(["dlq"], "ops") as c:
        (dead,) = c.poll(1.0)
    assert dead.value["offset"] == 3 and "cannot parse record 3" in dead.value["error"]
    assert dead.value["value"] == {"i": 3}
    assert bus.lag("g", "in") == 0


def test_transient_failure_is_retried_not_dead_lettered(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.publish("in", {"i": 1})
    calls = {"n": 0}

    def flaky(batch: Sequence[Message]) -> None:
        calls["n"] += 1
        if calls["n"] < 3:
            raise OperationalError("INSERT", {}, ConnectionError("database restarting"))

    runner = _runner(bus, flaky)
    runner.run_until_idle()
    assert calls["n"] == 3 and runner.dead_lettered == 0
    assert bus.end_offsets("dlq") == 0


def test_stop_flag_ends_run_after_commit(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    stop = threading.Event()
    seen: list[int] = []

    def handler(batch: Sequence[Message]) -> None:
        seen.extend(m.value for m in batch)
        if 5 in seen:
            stop.set()  # as a SIGTERM handler would

    runner = _runner(bus, handler, stop=stop)
    thread = threading.Thread(target=runner.run)
    thread.start()
    bus.publish_many("in", [(None, i) for i in range(6)])
    thread.join(10)
    assert not thread.is_alive()
    assert bus.committed("g", "in") == 6


def test_bus_failure_on_commit_is_retried(tmp_path: Path) -> None:
    from huiyin.config.errors import BusError
    from huiyin.responder.bus.embedded import EmbeddedConsumer

    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.publish("in", {"i": 1})
    original = EmbeddedConsumer.commit
    failures = {"left": 2}

    def flaky_commit(self, messages=None):  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise BusError("broker restarting")
        return original(self, messages)

    EmbeddedConsumer.commit = flaky_commit  # type: ignore[method-assign]
    try:
        handled: list[int] = []
        _runner(bus, lambda batch: handled.extend(m.value["i"] for m in batch)).run_until_idle()
    finally:
        EmbeddedConsumer.commit = original  # type: ignore[method-assign]
    assert handled == [1] and failures["left"] == 0
    assert bus.committed("g", "in") == 1
