"""The Kafka bus against a real Apache Kafka broker: round trip, commit semantics, at-least-once
across a SIGKILLed consumer process, independent groups, and a broker restart mid-stream."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.kafka_broker import KafkaBroker, free_port
from huiyin.config.errors import BusError
from huiyin.config.settings import Settings, Topics, load_settings
from huiyin.responder.bus import Message, open_bus
from huiyin.responder.bus.base import Consumer
from huiyin.responder.bus.kafka import KafkaBus, KafkaGroupConsumer

pytestmark = pytest.mark.kafka

# The broker's group.min.session.timeout.ms: a killed member is noticed after this long.
SESSION_S = 6.0


def make_bus(settings: Settings, topic: str, partitions: int = 3) -> KafkaBus:
    return KafkaBus(settings, session_timeout_s=SESSION_S, partitions={topic: partitions})


def poll_until(consumer: Consumer, done: Callable[[list[Message]], bool], timeout_s: float = 45.0) -> list[Message]:
    """Poll until ``done(received)`` holds; the first poll also waits for the group join."""
    received: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while not done(received):
        assert time.monotonic() < deadline, f"only {len(received)} records after {timeout_s} s"
        received += consumer.poll(0.5)
    return received


def drain(consumer: Consumer, quiet_s: float = 2.0, timeout_s: float = 45.0, expect_some: bool = True) -> list[Message]:
    """Everything the consumer gets until nothing more arrives for ``quiet_s`` after joining."""
    assert isinstance(consumer, KafkaGroupConsumer)

    def joined(received: list[Message]) -> bool:
        return bool(received) or (not expect_some and bool(consumer.assignment()))

    received = poll_until(consumer, joined, timeout_s)
    last = time.monotonic()
    while time.monotonic() - last < quiet_s:
        batch = consumer.poll(0.5)
        if batch:
            received += batch
            last = time.monotonic()
    return received


def test_round_trip_keeps_chinese_keys_and_headers(kafka_settings: Settings, kafka_names: tuple[str, str]) -> None:
    topic, group = kafka_names
    text = "正定县某小区停水三天，无人回应。@石家庄市政府 请尽快处理！"
    with make_bus(kafka_settings, topic) as bus:
        bus.publish(topic, {"text": text, "n": 1}, key="帖子-1", headers={"来源": "微博"})
        bus.flush(10)
        with bus.consumer([topic], group) as consumer:
            (m,) = poll_until(consumer, lambda r: len(r) >= 1)
    assert (m.topic, m.offset, m.key) == (topic, 0, "帖子-1")
    assert m.value == {"text": text, "n": 1}
    assert m.headers == {"来源": "微博"}
    assert m.timestamp_ms > 0


def test_open_bus_picks_kafka_and_creates_pipeline_topics_with_partitions(
    kafka_settings: Settings, kafka_names: tuple[str, str]
) -> None:
    prefix, _ = kafka_names  # fresh names: other tests may already have made posts.raw
    topics = Topics(posts_raw=f"{prefix}.posts.raw", dead_letter=f"{prefix}.dead-letter")
    settings = kafka_settings.model_copy(update={"topics": topics})
    with open_bus(settings) as bus:
        assert isinstance(bus, KafkaBus)
        assert bus.partition_count(topics.posts_raw) == 0  # not created before it is needed
        bus.ensure_topics([topics.posts_raw, topics.dead_letter])
        assert bus.partition_count(topics.posts_raw) == settings.kafka_partitions == 3
        assert bus.partition_count(topics.dead_letter) == 1


def test_uncommitted_records_are_redelivered_to_the_group(
    kafka_settings: Settings, kafka_names: tuple[str, str]
) -> None:
    topic, group = kafka_names
    with make_bus(kafka_settings, topic) as bus:
        assert bus.publish_many(topic, [(f"k{i}", {"i": i}) for i in range(60)]) == 60
        bus.flush(10)
        with bus.consumer([topic], group) as first:
            got = poll_until(first, lambda r: len(r) >= 60)
            part = [m for m in got if m.offset < 5]  # commit only the first 5 records of each partition
            first.commit(part)
            first.commit(part[:1])  # an older commit must not rewind the group
        with bus.consumer([topic], group) as second:
            again = drain(second)
            second.commit()
        with bus.consumer([topic], group) as third:
            assert drain(third, expect_some=False) == []
    assert sorted(m.value["i"] for m in got) == list(range(60))
    assert {(m.partition, m.offset) for m in again} == {(m.partition, m.offset) for m in got if m.offset >= 5}
    assert len(again) == len({(m.partition, m.offset) for m in again})


WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from huiyin.config.settings import load_settings
    from huiyin.responder.bus.kafka import KafkaBus

    bootstrap, topic, group, effects, total = sys.argv[1:6]
    total = int(total)
    bus = KafkaBus(load_settings(config_dir="", bus="kafka", kafka_bootstrap=bootstrap), session_timeout_s=6)
    consumer = bus.consumer([topic], group)
    seen, committed = 0, False
    with open(effects, "a", encoding="utf-8") as out:
        while seen < total:
            for m in consumer.poll(0.5, max_records=20):  # small batches: a commit lands mid-stream
                # the side effect, made durable before anything is committed
                out.write(json.dumps({"i": m.value["i"], "p": m.partition, "o": m.offset}) + "\\n")
                seen += 1
            out.flush()
            os.fsync(out.fileno())
            if not committed and seen >= total // 2:
                consumer.commit()  # everything processed so far
                out.write("COMMITTED\\n")
                out.flush()
                committed = True
        out.write("DONE\\n")
    time.sleep(600)  # the test SIGKILLs us here: the second half is processed but never committed
    """
)


def test_at_least_once_when_a_consumer_process_is_killed_before_commit(
    kafka_settings: Settings, kafka_names: tuple[str, str], tmp_path: Path
) -> None:
    topic, group = kafka_names
    total = 200
    with make_bus(kafka_settings, topic) as bus:
        bus.publish_many(topic, [(f"post-{i}", {"i": i, "text": f"第{i}条留言"}) for i in range(total)])
        bus.flush(10)
    effects, stderr = tmp_path / "effects.jsonl", tmp_path / "worker.err"
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    with stderr.open("w") as err:
        worker = subprocess.Popen(
            [sys.executable, str(script), kafka_settings.kafka_bootstrap, topic, group, str(effects), str(total)],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 90
        while not (effects.exists() and effects.read_text(encoding="utf-8").endswith("DONE\n")):
            assert worker.poll() is None, f"worker exited {worker.returncode}: {stderr.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"worker did not finish: {stderr.read_text()[-3000:]}"
            time.sleep(0.2)
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    lines = effects.read_text(encoding="utf-8").splitlines()[:-1]
    cut = lines.index("COMMITTED")
    committed = {json.loads(x)["i"] for x in lines[:cut]}
    uncommitted = {json.loads(x)["i"] for x in lines[cut + 1 :]}
    assert committed | uncommitted == set(range(total)), "the worker processed every record before the kill"
    assert committed and uncommitted, "the worker committed part of them, not all"

    # A restarted member of the group gets the uncommitted records again, and only those.
    with make_bus(kafka_settings, topic) as bus, bus.consumer([topic], group) as restarted:
        redelivered = drain(restarted, timeout_s=60)
        restarted.commit()
    again = {m.value["i"] for m in redelivered}
    assert again == uncommitted
    assert committed | again == set(range(total))  # none lost


def test_each_group_gets_everything(kafka_settings: Settings, kafka_names: tuple[str, str]) -> None:
    topic, group = kafka_names
    with make_bus(kafka_settings, topic) as bus:
        bus.publish_many(topic, [(str(i), {"i": i}) for i in range(90)])
        bus.flush(10)
        results = {}
        for g in (f"{group}-a", f"{group}-b"):
            with bus.consumer([topic], g) as consumer:
                got = poll_until(consumer, lambda r: len(r) >= 90)
                consumer.commit()
            results[g] = sorted(m.value["i"] for m in got)
    assert all(v == list(range(90)) for v in results.values())


def test_producer_and_consumer_survive_a_broker_restart(
    kafka_broker: KafkaBroker, kafka_settings: Settings, kafka_names: tuple[str, str]
) -> None:
    topic, group = kafka_names
    bus = make_bus(kafka_settings, topic)
    # A producer that gives up after 2 s: while the broker is down its record is reported lost.
    impatient = KafkaBus(kafka_settings, delivery_timeout_s=2)
    consumer = bus.consumer([topic], group)
    try:
        bus.publish_many(topic, [(str(i), {"i": i}) for i in range(100)])
        bus.flush(10)
        impatient.publish(f"{topic}-impatient", {"i": 0})
        impatient.flush(10)
        seen = {m.value["i"] for m in poll_until(consumer, lambda r: len(r) >= 100)}
        consumer.commit()

        kafka_broker.stop()
        try:
            bus.publish_many(topic, [(str(i), {"i": i}) for i in range(100, 200)])  # buffered while down
            assert consumer.poll(1.0) == []
            impatient.publish(f"{topic}-impatient", {"i": 1})
            with pytest.raises(BusError, match="could not be delivered"):
                impatient.flush(30)
        finally:
            kafka_broker.start()
        bus.publish_many(topic, [(str(i), {"i": i}) for i in range(200, 300)])
        bus.flush(60)  # retried through the restart, nothing failed

        def all_seen(received: list[Message]) -> bool:
            return len(seen | {m.value["i"] for m in received}) >= 300

        seen |= {m.value["i"] for m in poll_until(consumer, all_seen, 90)}
        consumer.commit()
    finally:
        consumer.close()
        impatient.close()
        bus.close()
    assert seen == set(range(300))
    with make_bus(kafka_settings, topic) as bus, bus.consumer([topic], group) as after:
        assert drain(after, expect_some=False) == []  # the commit after the restart held


def test_unreachable_broker_is_a_bus_error_naming_the_address(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    settings = load_settings(config_dir="", data_dir=tmp_path, bus="kafka", kafka_bootstrap=address)
    with pytest.raises(BusError, match=address.replace(".", r"\.")):
        KafkaBus(settings, connect_timeout_s=2)


def test_a_record_too_large_is_a_bus_error(kafka_settings: Settings, kafka_names: tuple[str, str]) -> None:
    topic, _ = kafka_names
    with make_bus(kafka_settings, topic) as bus, pytest.raises(BusError, match=topic):
        bus.publish(topic, {"text": "长" * 600_000})


def test_a_live_view_starts_at_the_end_and_lag_counts_what_is_left(
    kafka_settings: Settings, kafka_names: tuple[str, str]
) -> None:
    topic, group = kafka_names
    with make_bus(kafka_settings, topic) as bus:
        bus.publish_many(topic, [(str(i), {"i": i}) for i in range(30)])
        bus.flush(10)
        assert sum(bus.partition_end_offsets(topic).values()) == 30 and len(bus.partition_end_offsets(topic)) == 3
        assert bus.lag(group, topic) == 30  # a group that never committed has everything left
        with bus.consumer([topic], f"{group}-live", from_end=True) as live:
            assert drain(live, expect_some=False) == []  # joined: no history
            bus.publish_many(topic, [(str(i), {"i": i}) for i in range(30, 40)])
            bus.flush(10)
            got = poll_until(live, lambda r: len(r) >= 10)
        assert sorted(m.value["i"] for m in got) == list(range(30, 40))
        with bus.consumer([topic], group) as consumer:
            poll_until(consumer, lambda r: len(r) >= 40)
            consumer.commit()
        assert bus.lag(group, topic) == 0
