"""The Kafka adapter of the bus (kafka-python), for deployments that outgrow one process.

Delivery is at-least-once: the producer waits for ``acks=all`` with idempotence on, and a
consumer never commits on its own (``enable_auto_commit=False``); a stage commits offset+1
only after its side effect is saved, so a crash before the commit means redelivery, never loss.
Both clients ride out a broker restart: sends are retried until ``delivery_timeout_ms``, polls
reconnect with a short backoff cap. Topics are created on first use with the partition count
from the settings (``kafka_partitions`` for the two pipeline topics that scale by consumer group).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import errors as kafka_errors
from kafka.admin import OffsetSpec
from kafka.structs import OffsetAndMetadata, TopicPartition

from huiyin.config.errors import BusError
from huiyin.responder.bus.base import Bus, Consumer, Message, decode, encode

if TYPE_CHECKING:
    from huiyin.config.settings import Settings

log = logging.getLogger(__name__)

# Reconnect quickly once a restarted broker is back (kafka-python's default cap is 30 s).
RECONNECT_BACKOFF_MAX_MS = 2000
TOPIC_READY_TIMEOUT_MS = 30_000
LINGER_MS = 5
# A commit waits this long for a coordinator (e.g. through a broker restart) before BusError.
COMMIT_TIMEOUT_MS = 60_000


class KafkaBus(Bus):
    """Publish to and consume from Apache Kafka at ``settings.kafka_bootstrap``.

    ``connect_timeout_s`` bounds how long start-up waits for an unreachable broker before
    raising BusError; ``delivery_timeout_s`` is how long a published record is retried (e.g.
    through a broker restart) before ``flush`` reports it lost; ``session_timeout_s`` (default
    ``settings.kafka_session_timeout_s``) is how soon the group notices a dead consumer — one
    killed without leaving the group — and hands its partitions to another member or to the
    restarted process. Consumers heartbeat every tenth of it, from a background thread.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        connect_timeout_s: float = 15.0,
        delivery_timeout_s: float = 120.0,
        session_timeout_s: float | None = None,
        partitions: Mapping[str, int] | None = None,
    ) -> None:
        self.bootstrap = settings.kafka_bootstrap
        self.client_id = settings.kafka_client_id
        self.connect_timeout_ms = int(connect_timeout_s * 1000)
        self.delivery_timeout_ms = int(delivery_timeout_s * 1000)
        session_s = settings.kafka_session_timeout_s if session_timeout_s is None else session_timeout_s
        self.session_timeout_ms = int(session_s * 1000)
        topics = settings.topics
        self.partitions: dict[str, int] = {
            topics.posts_raw: settings.kafka_partitions,
            topics.incidents_routed: settings.kafka_partitions,
            **(partitions or {}),
        }
        self._lock = threading.Lock()
        self._known_topics: set[str] = set()
        self._producer: KafkaProducer | None = None
        self._errors: list[BaseException] = []
        # Fail at start-up, not at the first publish, when the broker is unreachable.
        self._admin = self._connect(KafkaAdminClient, "admin", request_timeout_ms=30_000)

    # -- topics ----------------------------------------------------------------------------

    def partitions_for(self, topic: str) -> int:
        """How many partitions ``topic`` gets when this bus creates it (default 1)."""
        return self.partitions.get(topic, 1)

    def ensure_topics(self, topics: Iterable[str]) -> None:
        """Create the topics that do not exist yet and wait until each has a leader."""
        wanted = [t for t in dict.fromkeys(topics) if t not in self._known_topics]
        if not wanted:
            return
        try:
            existing = set(self._admin.list_topics())
            missing = {t: {"num_partitions": self.partitions_for(t), "replication_factor": -1}
                       for t in wanted if t not in existing}
            if missing:
                result = self._admin.create_topics(missing, raise_errors=False)
                for item in result.get("topics", []):
                    code = item.get("error_code", 0)
                    # Another process may have created it in between: that is fine.
                    if code not in (0, kafka_errors.TopicAlreadyExistsError.errno):
                        raise BusError(
                            f"无法创建 Kafka 主题 cannot create Kafka topic {item.get('name')!r} at {self.bootstrap}: "
                            f"{kafka_errors.for_code(code).__name__} {item.get('error_message') or ''}".rstrip()
                        )
                log.info("created Kafka topics %s", {t: m["num_partitions"] for t, m in missing.items()})
            self._admin.wait_for_topics(wanted, timeout_ms=TOPIC_READY_TIMEOUT_MS)
        except kafka_errors.KafkaError as exc:
            raise BusError(f"Kafka 主题准备失败 cannot prepare topics {wanted} at {self.bootstrap}: {exc}") from exc
        self._known_topics.update(wanted)

    def partition_count(self, topic: str) -> int:
        """How many partitions ``topic`` has on the broker (0 if it does not exist)."""
        try:
            (info,) = self._admin.describe_topics([topic])
        except kafka_errors.KafkaError as exc:
            raise BusError(f"无法查询 Kafka 主题 cannot describe topic {topic!r} at {self.bootstrap}: {exc}") from exc
        return 0 if info.get("error_code", 0) else len(info.get("partitions") or [])

    def partition_end_offsets(self, topic: str) -> dict[int, int]:
        """Next offset of each partition of ``topic`` (its log end)."""
        n = self.partition_count(topic)
        specs = {TopicPartition(topic, p): OffsetSpec.LATEST for p in range(n)}
        try:
            found = self._admin.list_partition_offsets(specs) if specs else {}
        except kafka_errors.KafkaError as exc:
            raise BusError(f"无法查询 Kafka 偏移量 cannot list offsets of {topic!r} at {self.bootstrap}: {exc}") from exc
        return {tp.partition: int(info.offset) for tp, info in found.items()}

    def partition_committed(self, group: str, topic: str) -> dict[int, int]:
        """The group's committed offset of each partition of ``topic`` (absent: never committed)."""
        try:
            found = self._admin.list_group_offsets({group: None}).get(group, {})
        except kafka_errors.KafkaError as exc:
            raise BusError(f"无法查询消费组偏移量 cannot fetch offsets of group {group!r} at {self.bootstrap}: {exc}") from exc
        return {tp.partition: int(meta.offset) for tp, meta in found.items() if tp.topic == topic and meta.offset >= 0}

    def lag(self, group: str, topic: str) -> int:
        """Records of ``topic`` the group has not committed yet (queue depth), over all partitions."""
        committed = self.partition_committed(group, topic)
        return sum(max(0, end - committed.get(p, 0)) for p, end in self.partition_end_offsets(topic).items())

    # -- publishing ------------------------------------------------------------------------

    def publish(self, topic: str, value: Any, key: str | None = None, headers: dict[str, str] | None = None) -> None:
        self._raise_send_errors()
        producer = self._get_producer()
        if topic not in self._known_topics:
            self.ensure_topics([topic])
        try:
            future = producer.send(
                topic,
                value=encode(value),
                key=key.encode("utf-8") if key is not None else None,
                headers=[(k, v.encode("utf-8")) for k, v in (headers or {}).items()] or None,
            )
        except kafka_errors.KafkaError as exc:  # buffer full or metadata unavailable past max_block_ms
            raise BusError(f"消息发布失败 cannot publish to Kafka topic {topic!r} at {self.bootstrap}: {exc}") from exc
        future.add_errback(self._record_send_error, topic, key)

    def flush(self, timeout_s: float | None = None) -> None:
        if self._producer is not None:
            try:
                self._producer.flush(timeout=timeout_s)
            except kafka_errors.KafkaError as exc:
                raise BusError(f"消息未能及时写入 Kafka flush did not complete at {self.bootstrap}: {exc}") from exc
        self._raise_send_errors()

    def _record_send_error(self, topic: str, key: str | None, exc: BaseException) -> None:
        # Runs on the producer's I/O thread once retries are exhausted; raised from flush/publish.
        log.error("Kafka send to %s (key %s) failed after retries: %s", topic, key, exc)
        with self._lock:
            self._errors.append(exc)

    def _raise_send_errors(self) -> None:
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise BusError(
                f"{len(errors)} 条消息未能送达 Kafka message(s) could not be delivered to {self.bootstrap}: {errors[0]}"
            ) from errors[0]

    def _get_producer(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = self._connect(
                    KafkaProducer,
                    "producer",
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=LINGER_MS,  # small batches, big gain in throughput for a few ms of latency
                    batch_size=64 * 1024,
                    delivery_timeout_ms=self.delivery_timeout_ms,  # retries are unbounded until this deadline
                    request_timeout_ms=min(30_000, self.delivery_timeout_ms - LINGER_MS),
                    max_block_ms=60_000,
                    allow_auto_create_topics=False,
                )
            return self._producer

    # -- consuming -------------------------------------------------------------------------

    def consumer(self, topics: Sequence[str], group: str, *, from_end: bool = False) -> Consumer:
        self.ensure_topics(topics)
        client = self._connect(
            KafkaConsumer,
            f"consumer {group}",
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="latest" if from_end else "earliest",
            allow_auto_create_topics=False,
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(500, self.session_timeout_ms // 10),
        )
        client.subscribe(list(topics))
        return KafkaGroupConsumer(client, group=group, bootstrap=self.bootstrap)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._producer is not None:
                self._producer.close(timeout=10)  # bounded: after a failed flush the rest is lost anyway
                self._producer = None
            self._admin.close()

    def _connect(self, cls: type, role: str, **config: Any) -> Any:
        try:
            return cls(
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                bootstrap_timeout_ms=self.connect_timeout_ms,
                reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
                **config,
            )
        except kafka_errors.KafkaError as exc:
            raise BusError(
                f"无法连接 Kafka {self.bootstrap} Kafka is unreachable ({role}, "
                f"waited {self.connect_timeout_ms / 1000:.0f} s): {exc}; "
                "check HUIYIN_KAFKA_BOOTSTRAP or start the broker"
            ) from exc


class KafkaGroupConsumer(Consumer):
    """One member of a Kafka consumer group; offsets move only on ``commit``."""

    def __init__(self, client: KafkaConsumer, *, group: str, bootstrap: str) -> None:
        self._client = client
        self.group = group
        self.bootstrap = bootstrap
        self._polled: dict[TopicPartition, int] = {}  # highest offset handed out per partition
        self._committed: dict[TopicPartition, int] = {}  # next offset committed per partition

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Message]:
        try:
            batches = self._client.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        except kafka_errors.KafkaError as exc:
            raise BusError(f"Kafka 拉取消息失败 poll failed for group {self.group!r} at {self.bootstrap}: {exc}") from exc
        out: list[Message] = []
        for tp, records in batches.items():
            for rec in records:
                out.append(
                    Message(
                        topic=rec.topic,
                        partition=rec.partition,
                        offset=rec.offset,
                        key=rec.key.decode("utf-8", "replace") if rec.key is not None else None,
                        value=decode(rec.value),
                        timestamp_ms=rec.timestamp or 0,
                        headers={k: (v or b"").decode("utf-8", "replace") for k, v in (rec.headers or [])},
                    )
                )
            if records:
                self._polled[tp] = max(self._polled.get(tp, -1), records[-1].offset)
        return out

    def commit(self, messages: Sequence[Message] | None = None) -> None:
        """Commit offset+1 of the highest message per partition (or of everything polled).

        Partitions this member no longer owns after a rebalance are left alone: their new
        owner will get those records again, which at-least-once allows.
        """
        if messages is None:
            highest = dict(self._polled)
        else:
            highest = {}
            for m in messages:
                tp = TopicPartition(m.topic, m.partition)
                highest[tp] = max(highest.get(tp, -1), m.offset)
        owned = self._client.assignment()
        offsets = {
            tp: OffsetAndMetadata(off + 1, "", -1)
            for tp, off in highest.items()
            if tp in owned and off + 1 > self._committed.get(tp, -1)
        }
        for tp in set(self._polled) - owned:  # revoked: forget what we polled there
            self._polled.pop(tp, None)
            self._committed.pop(tp, None)
        if not offsets:
            return
        try:
            self._client.commit(offsets, timeout_ms=COMMIT_TIMEOUT_MS)
        except kafka_errors.KafkaError as exc:
            raise BusError(
                f"Kafka 位点提交失败，这些消息将再次投递 commit failed for group {self.group!r} at {self.bootstrap} "
                f"({_describe(offsets)}); these records will be delivered again: {exc}"
            ) from exc
        for tp, meta in offsets.items():
            self._committed[tp] = meta.offset
        log.debug("group %s committed %s", self.group, _describe(offsets))

    def assignment(self) -> set[tuple[str, int]]:
        """The (topic, partition) pairs this member owns now; empty until it has joined."""
        return {(tp.topic, tp.partition) for tp in self._client.assignment()}

    def close(self) -> None:
        self._client.close(autocommit=False)


def _describe(offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> str:
    return ", ".join(f"{tp.topic}/{tp.partition}@{meta.offset}" for tp, meta in sorted(offsets.items()))
