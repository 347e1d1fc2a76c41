"""The consume loop every stage uses: poll, apply the side effect, then commit.

A batch whose handler fails is retried record by record; a record that still fails is a poison
message: it goes to the dead-letter topic with its error and processing continues. Transient
failures (database or broker unavailable) are retried with backoff and never dead-lettered.
``stop`` is a flag: a signal handler sets it, the loop finishes the batch in hand, commits, and
leaves. Handlers must be idempotent, because a crash between side effect and commit replays.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, OperationalError

from huiyin.config.errors import BusError, StoreError
from huiyin.responder.bus.base import Bus, Consumer, Message
from huiyin.responder.bus.messages import DeadLetter

log = logging.getLogger(__name__)

# Records a stage takes per poll: under load, the batch its handler gets.
MAX_RECORDS = 500

Handler = Callable[[Sequence[Message]], None]
_T = TypeVar("_T")
TRANSIENT: tuple[type[BaseException], ...] = (OperationalError, BusError, StoreError, ConnectionError, TimeoutError)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and getattr(exc, "connection_invalidated", False):
        return True
    return isinstance(exc, TRANSIENT)


class StageRunner:
    """Runs one stage's handler over its topics in a consumer group."""

    def __init__(
        self,
        bus: Bus,
        *,
        name: str,
        topics: Sequence[str],
        group: str,
        handler: Handler,
        dead_letter_topic: str,
        stop: threading.Event | None = None,
        max_records: int = MAX_RECORDS,
        poll_timeout_s: float = 0.5,
    ) -> None:
        self.bus = bus
        self.name = name
        self.topics = list(topics)
        self.group = group
        self.handler = handler
        self.dead_letter_topic = dead_letter_topic
        self.stop = stop or threading.Event()
        self.max_records = max_records
        self.poll_timeout_s = poll_timeout_s
        self.processed = 0
        self.dead_lettered = 0

    def run(self) -> None:
        """Consume until ``stop`` is set; commit what was handled before leaving."""
        with self.bus.consumer(self.topics, self.group) as consumer:
            while not self.stop.is_set():
                self._step(consumer)

    def run_until_idle(self, idle_polls: int = 2) -> int:
        """Consume until the topics are drained; returns how many records were handled."""
        before = self.processed
        with self.bus.consumer(self.topics, self.group) as consumer:
            quiet = 0
            while quiet < idle_polls and not self.stop.is_set():
                quiet = 0 if self._step(consumer) else quiet + 1
        return self.processed - before

    def _step(self, consumer: Consumer) -> int:
        messages = self._retrying(lambda: consumer.poll(self.poll_timeout_s, self.max_records), "poll")
        if not messages:
            return 0
        self._retrying(lambda: self._handle(messages), "handle", keep_going_on_stop=True)
        self._retrying(lambda: consumer.commit(messages), "commit", keep_going_on_stop=True)
        self.processed += len(messages)
        return len(messages)

    def _retrying(self, action: Callable[[], _T], what: str, *, keep_going_on_stop: bool = False) -> _T:
        """Run ``action``, retrying transient failures (broker or database away) with backoff.

        Once a batch is in hand, a stop request does not abandon it: the side effect and the
        commit are retried so the process leaves with a committed, consistent position.
        """
        backoff = 0.5
        while True:
            try:
                return action()
            except BaseException as exc:  # noqa: BLE001 - non-transient errors are re-raised
                if not _is_transient(exc) or (self.stop.is_set() and not keep_going_on_stop) or backoff > 60:
                    raise
                log.warning("%s: transient %s failure, retrying in %.1fs: %s", self.name, what, backoff, exc)
                time.sleep(backoff)
                backoff *= 2

    def _handle(self, messages: Sequence[Message]) -> None:
        try:
            self.handler(messages)
            return
        except BaseException as exc:  # noqa: BLE001
            if _is_transient(exc) or not isinstance(exc, Exception):
                raise
            if len(messages) == 1:
                self._dead_letter(messages[0], exc)
                return
            log.warning("%s: batch of %d failed (%s); retrying one by one", self.name, len(messages), exc)
        for message in messages:
            try:
                self.handler([message])
            except Exception as exc:  # noqa: BLE001
                if _is_transient(exc):
                    raise
                self._dead_letter(message, exc)

    def _dead_letter(self, message: Message, exc: BaseException) -> None:
        log.error(
            "%s: poison record %s[%d]@%d key=%s sent to %s: %r",
            self.name, message.topic, message.partition, message.offset, message.key, self.dead_letter_topic, exc,
        )
        record = DeadLetter(
            stage=self.name, topic=message.topic, partition=message.partition, offset=message.offset,
            key=message.key, value=message.value, error=f"{type(exc).__name__}: {exc}", at=datetime.now(UTC),
        )
        self.bus.publish(self.dead_letter_topic, record.model_dump(mode="json"), key=message.key)
        self.bus.flush()  # the dead letter is durable before the offset moves past it
        self.dead_lettered += 1
