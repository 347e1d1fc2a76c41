"""The live stream's source: one consumer thread per app reading ``incident.events``.

Each process joins its own consumer group (host, pid and a random suffix), so every API process
sees every event; the stream is live only, so the group starts at the end of the topic
(``from_end``: no history is read at start-up, however long the topic) and never commits. Each event is matched against each connected client's visibility before it is queued
for that client; a client that falls too far behind gets a ``resync`` instead of stale events.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from huiyin.responder.bus import Bus, Message

log = logging.getLogger(__name__)

RESYNC = {"type": "resync"}
_SKEW_MS = 5_000  # records this much older than the hub's start are history, not news (a safeguard)


@dataclass(eq=False)
class Subscription:
    """One connected client: its queue on the event loop and what it may see."""

    loop: asyncio.AbstractEventLoop
    accepts: Callable[[Any], bool]  # called with the incident snapshot the resolver returns
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(maxsize=500))
    dropped: int = 0

    def offer(self, event: dict[str, Any]) -> None:
        """Called on the loop thread: queue the event, or ask the client to resync if full."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)


class EventHub:
    """Reads incident events in a background thread and fans them out to subscriptions."""

    def __init__(
        self,
        bus: Bus,
        topic: str,
        resolve: Callable[[dict[str, Any]], Any],
        *,
        on_event: Callable[[dict[str, Any], float], None] | None = None,
        poll_timeout_s: float = 0.25,
    ) -> None:
        self.bus = bus
        self.topic = topic
        self.group = f"huiyin-api-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._resolve = resolve  # event -> incident snapshot (or None if gone), read in this thread
        self._on_event = on_event
        self._poll_timeout_s = poll_timeout_s
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_ms = 0
        self.ready = threading.Event()
        self.delivered = 0
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the consumer thread (once)."""
        if self._thread is not None:
            return
        self._started_ms = int(time.time() * 1000)
        self._thread = threading.Thread(target=self._run, name="api-event-hub", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread; connected clients see their stream end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def subscribe(self, accepts: Callable[[Any], bool]) -> Subscription:
        """Register a client of the running event loop."""
        sub = Subscription(loop=asyncio.get_running_loop(), accepts=accepts)
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._subs)

    # -- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with self.bus.consumer([self.topic], self.group, from_end=True) as consumer:
                    self.ready.set()
                    self.error = None
                    backoff = 0.5
                    while not self._stop.is_set():
                        for message in consumer.poll(self._poll_timeout_s, 200):
                            self._dispatch(message)
            except Exception as exc:  # the stream must outlive a broker hiccup; say so and retry
                if self._stop.is_set():
                    return
                self.error = str(exc)
                log.warning("event hub on %s failed (%s); retrying in %.1fs", self.topic, exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _dispatch(self, message: Message) -> None:
        if message.timestamp_ms and message.timestamp_ms < self._started_ms - _SKEW_MS:
            return
        event = message.value
        if not isinstance(event, dict) or "incident_id" not in event:
            return
        with self._lock:
            subs = list(self._subs)
        if self._on_event is not None:
            self._on_event(event, time.time())
        if not subs:
            return
        try:
            snapshot = self._resolve(event)
        except Exception:
            log.exception("event hub could not resolve incident %s", event.get("incident_id"))
            return
        if snapshot is None:
            return
        for sub in subs:
            try:
                if sub.accepts(snapshot):
                    sub.loop.call_soon_threadsafe(sub.offer, event)
                    self.delivered += 1
            except RuntimeError:  # the client's loop is closed: it left
                self.unsubscribe(sub)
