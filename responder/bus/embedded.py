"""The embedded bus: a durable, append-only log in a SQLite file, for the single-machine default.

Like a one-partition Kafka topic: records get increasing offsets per topic, each consumer group
keeps a committed offset, and nothing is lost when the process restarts, because a record is on
disk before ``publish`` returns and an offset moves only on ``commit``. Several processes may share
the file (``huiyin ingest`` beside ``huiyin run``); each group should have one member at a time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from huiyin.config.errors import BusError
from huiyin.responder.bus.base import Bus, Consumer, Message, decode, encode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    topic TEXT NOT NULL, "offset" INTEGER NOT NULL, key TEXT, value BLOB NOT NULL,
    headers TEXT, ts_ms INTEGER NOT NULL, PRIMARY KEY (topic, "offset")
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL, topic TEXT NOT NULL, next_offset INTEGER NOT NULL, PRIMARY KEY (grp, topic)
) WITHOUT ROWID;
"""


class EmbeddedBus(Bus):
    """A durable log in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._arrived = threading.Condition()
        self._conn = self._connect()
        self._conn.executescript(_SCHEMA)
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def publish(self, topic: str, value: Any, key: str | None = None, headers: dict[str, str] | None = None) -> None:
        self._append(topic, [(key, value, headers)])

    def publish_many(self, topic: str, items: Iterable[tuple[str | None, Any]]) -> int:
        return self._append(topic, [(k, v, None) for k, v in items])

    def _append(self, topic: str, rows: list[tuple[str | None, Any, dict[str, str] | None]]) -> int:
        if not rows:
            return 0
        self._check_open()
        now = int(time.time() * 1000)
        with self._lock:
            # BEGIN IMMEDIATE serialises writers across processes, so MAX+1 is safe.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                (last,) = self._conn.execute(
                    'SELECT COALESCE(MAX("offset"), -1) FROM records WHERE topic = ?', (topic,)
                ).fetchone()
                self._conn.executemany(
                    'INSERT INTO records (topic, "offset", key, value, headers, ts_ms) VALUES (?, ?, ?, ?, ?, ?)',
                    [
                        (topic, last + 1 + i, key, encode(value), json.dumps(h) if h else None, now)
                        for i, (key, value, h) in enumerate(rows)
                    ],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        with self._arrived:
            self._arrived.notify_all()
        return len(rows)

    def flush(self, timeout_s: float | None = None) -> None:
        """Nothing to do: every publish is on disk when it returns."""

    def consumer(self, topics: Sequence[str], group: str, *, from_end: bool = False) -> Consumer:
        self._check_open()
        if from_end:
            with self._lock:
                # A group with no offset yet on a topic starts at its end: the offset is set to
                # the current end (later records are read; existing offsets are kept).
                self._conn.executemany(
                    "INSERT INTO group_offsets (grp, topic, next_offset) "
                    "SELECT ?, ?, COALESCE(MAX(\"offset\"), -1) + 1 FROM records WHERE topic = ? "
                    "ON CONFLICT (grp, topic) DO NOTHING",
                    [(group, t, t) for t in topics],
                )
        return EmbeddedConsumer(self, list(topics), group)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
        with self._arrived:
            self._arrived.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("嵌入式消息总线已关闭 embedded bus is closed")

    def end_offsets(self, topic: str) -> int:
        """How many records the topic holds (the next offset)."""
        with self._lock:
            (n,) = self._conn.execute('SELECT COALESCE(MAX("offset"), -1) + 1 FROM records WHERE topic = ?', (topic,)).fetchone()
        return int(n)

    def committed(self, group: str, topic: str) -> int:
        """The group's committed offset on ``topic`` (0 if none)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT next_offset FROM group_offsets WHERE grp = ? AND topic = ?", (group, topic)
            ).fetchone()
        return int(row[0]) if row else 0

    def lag(self, group: str, topic: str) -> int:
        """Records of ``topic`` the group has not committed yet."""
        return self.end_offsets(topic) - self.committed(group, topic)


class EmbeddedConsumer(Consumer):
    """One member of a consumer group on the embedded bus."""

    def __init__(self, bus: EmbeddedBus, topics: list[str], group: str) -> None:
        self._bus = bus
        self._group = group
        self._topics = topics
        self._conn = bus._connect()
        self._position = {t: bus.committed(group, t) for t in topics}
        self._polled: dict[str, int] = {}
        self._closed = False

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Message]:
        if self._closed:
            raise BusError("消费者已关闭 consumer is closed")
        deadline = time.monotonic() + timeout_s
        while True:
            batch = self._fetch(max_records)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._bus._closed:
                return batch
            # Wake on a local publish at once; another process's publish is seen within 50 ms.
            with self._bus._arrived:
                self._bus._arrived.wait(min(remaining, 0.05))

    def _fetch(self, max_records: int) -> list[Message]:
        out: list[Message] = []
        for topic in self._topics:
            if len(out) >= max_records:
                break
            rows = self._conn.execute(
                'SELECT "offset", key, value, headers, ts_ms FROM records WHERE topic = ? AND "offset" >= ? '
                'ORDER BY "offset" LIMIT ?',
                (topic, self._position[topic], max_records - len(out)),
            ).fetchall()
            for offset, key, value, headers, ts in rows:
                out.append(Message(topic, 0, offset, key, decode(value), ts, json.loads(headers) if headers else {}))
            if rows:
                self._position[topic] = rows[-1][0] + 1
                self._polled[topic] = rows[-1][0]
        return out

    def commit(self, messages: Sequence[Message] | None = None) -> None:
        if messages is None:
            upto = dict(self._polled)
        else:
            upto = {}
            for m in messages:
                upto[m.topic] = max(upto.get(m.topic, -1), m.offset)
        if not upto:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(
                "INSERT INTO group_offsets (grp, topic, next_offset) VALUES (?, ?, ?) "
                "ON CONFLICT (grp, topic) DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset)",
                [(self._group, t, o + 1) for t, o in upto.items()],
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def seek_to_committed(self) -> None:
        """Forget uncommitted progress: the next poll starts again at the committed offsets."""
        self._position = {t: self._bus.committed(self._group, t) for t in self._topics}
        self._polled = {}

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._conn.close()
