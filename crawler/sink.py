"""Where collected posts go: once to ``posts.raw`` as new, again only as an update, never twice.

``PostSink.submit`` compares a post with its ``crawl_state`` row: unseen -> ``kind="new"`` (with its
near-duplicate cluster), seen with other counts or another official reply -> ``kind="update"``,
seen and unchanged -> nothing. Records are batched: each ``flush`` publishes the batch and then, in
one transaction, writes the crawl state, the MinHash signatures and the quarantine rows. A crash
between the two repeats at most one batch (at-least-once; the downstream stages are idempotent by
post id), and a stopped crawl resumes without emitting anything again.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from huiyin.config.settings import Settings
from huiyin.crawler import health
from huiyin.crawler.cluster import NearDuplicates
from huiyin.crawler.normalise import state_hash
from huiyin.responder.bus import Bus
from huiyin.responder.bus.messages import PostRecord
from huiyin.responder.store import Database
from huiyin.responder.store.tables import CrawlState, NearDupSignature, QuarantineRecord

log = logging.getLogger(__name__)
MAX_PAYLOAD_CHARS = 8000


class PostSink:
    """Emits posts to the bus, keeps crawl state and quarantines what cannot be used."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: Bus,
        *,
        clock: Callable[[], datetime] | None = None,
        stage: str = "crawl",
        clusters: NearDuplicates | None = None,
        batch_size: int = 100,
    ) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.clock = clock or (lambda: datetime.now(UTC))
        self.stage = stage
        self.clusters = clusters or NearDuplicates(
            db,
            threshold=settings.crawler.cluster_threshold,
            window=timedelta(days=settings.crawler.cluster_window_days),
            clock=self.clock,
        )
        self.batch_size = batch_size
        self.counts: Counter[str] = Counter()
        self.blocked: dict[str, str] = {}
        self._outbox: list[tuple[str, dict[str, Any]]] = []
        self._pending: dict[tuple[str, str], dict[str, Any]] = {}  # crawl_state rows not yet written
        self._known: dict[str, dict[str, tuple[str, str, str, datetime]]] = {}  # source -> stored state
        self._inserts: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._signatures: list[dict[str, Any]] = []
        self._quarantine: list[dict[str, Any]] = []

    def open(self) -> PostSink:
        """Load the near-duplicate index from the database."""
        loaded = self.clusters.load()
        log.debug("near-duplicate index: %d signatures", loaded)
        return self

    # ------------------------------------------------------------------ posts

    def submit(self, record: PostRecord) -> str:
        """Emit ``record`` if it is new or changed; returns "new", "update" or "unchanged"."""
        key = (record.source, record.external_id)
        previous = self._pending.get(key) or self._lookup(key)
        now = self.clock()
        text_h, state_h = record.content_hash or "", state_hash(record)
        if previous is None:
            assignment = self.clusters.assign(record.id, f"{record.title or ''}\n{record.text}")
            record = record.model_copy(update={"kind": "new", "cluster_id": assignment.cluster_id})
            record.cluster_size = assignment.size  # type: ignore[attr-defined]  # extra field
            row = {"source": key[0], "item_key": key[1], "content_hash": text_h, "state_hash": state_h,
                   "post_id": record.id, "first_seen": now, "last_seen": now}
            self._inserts.append(row)
            if assignment.signature is not None:
                self._signatures.append({"post_id": record.id, "source": record.source, "cluster_id": assignment.cluster_id,
                                         "signature": assignment.signature.tobytes(), "created_at": now})
            outcome = "new"
        elif previous["content_hash"] == text_h and previous["state_hash"] == state_h:
            self.counts["unchanged"] += 1
            return "unchanged"
        else:
            record = record.model_copy(update={"kind": "update", "cluster_id": self.clusters.cluster_of(record.id)})
            row = {**previous, "content_hash": text_h, "state_hash": state_h, "last_seen": now}
            if not previous.get("_pending_insert"):
                self._updates.append(row)
            else:  # changed again inside the same batch: fix the pending insert in place
                next(r for r in self._inserts if (r["source"], r["item_key"]) == key).update(content_hash=text_h, state_hash=state_h)
            outcome = "update"
        self._pending[key] = {**row, "_pending_insert": outcome == "new" or previous.get("_pending_insert", False)}
        self._outbox.append((record.id, record.model_dump(mode="json")))
        self.counts["new" if outcome == "new" else "updated"] += 1
        if len(self._outbox) >= self.batch_size:
            self.flush()
        return outcome

    def _lookup(self, key: tuple[str, str]) -> dict[str, Any] | None:
        """The stored state of an item; a source's rows are read once, on its first item."""
        source, item_key = key
        if source not in self._known:
            with self.db.engine.connect() as conn:
                rows = conn.execute(
                    select(CrawlState.item_key, CrawlState.content_hash, CrawlState.state_hash, CrawlState.post_id,
                           CrawlState.first_seen).where(CrawlState.source == source)
                )
                self._known[source] = {r.item_key: (r.content_hash, r.state_hash, r.post_id, r.first_seen) for r in rows}
        found = self._known[source].get(item_key)
        if found is None:
            return None
        return {"source": source, "item_key": item_key, "content_hash": found[0], "state_hash": found[1],
                "post_id": found[2], "first_seen": found[3]}

    # ------------------------------------------------------------------ bad input and blocking

    def quarantine(self, *, source: str | None, reason: str, payload: Any, url: str | None = None) -> None:
        """Keep what could not be used, with the reason, for an operator (never a silent drop)."""
        self._quarantine.append(
            {"stage": self.stage, "source": source, "reason": reason[:2000], "payload": _payload_text(payload),
             "url": url[:2000] if url else None, "created_at": self.clock(), "resolved": False}
        )
        self.counts["quarantined"] += 1
        log.info("quarantined (%s) %s: %s", source, url or "", reason)
        if len(self._quarantine) >= self.batch_size:
            self.flush()

    def block(self, source: str, reason: str, url: str | None) -> None:
        """The site is blocking us: mark the source degraded and raise an ops alert (once)."""
        self.blocked[source] = reason
        self.flush()
        health.mark_degraded(self.db, self.bus, self.settings, source, reason, url=url, at=self.clock())
        log.warning("采集源 %s 被拦截 blocked: %s (%s)", source, reason, url)

    # ------------------------------------------------------------------ durability

    def flush(self) -> None:
        """Publish the batch, then write its state, signatures and quarantine rows in one transaction."""
        if self._outbox:
            self.bus.publish_many(self.settings.topics.posts_raw, self._outbox)
            self.bus.flush()
        if not (self._inserts or self._updates or self._signatures or self._quarantine):
            self._outbox.clear()
            return
        clean = lambda rows: [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]  # noqa: E731
        with self.db.transaction() as session:
            if self._inserts:
                session.execute(insert(CrawlState), clean(self._inserts))
            if self._updates:
                session.execute(update(CrawlState), [
                    {"source": r["source"], "item_key": r["item_key"], "content_hash": r["content_hash"],
                     "state_hash": r["state_hash"], "last_seen": r["last_seen"]} for r in self._updates
                ])
            if self._signatures:
                session.execute(insert(NearDupSignature), self._signatures)
            if self._quarantine:
                session.execute(insert(QuarantineRecord), self._quarantine)
        self._outbox.clear()
        for (source, item_key), row in self._pending.items():
            if source in self._known:
                self._known[source][item_key] = (row["content_hash"], row["state_hash"], row["post_id"], row["first_seen"])
        self._pending.clear()
        for rows in (self._inserts, self._updates, self._signatures, self._quarantine):
            rows.clear()

    def close(self) -> None:
        """Flush what is left."""
        self.flush()


def _payload_text(payload: Any) -> str:
    if payload is None:
        return ""
    if isinstance(payload, bytes):
        head = base64.b64encode(payload[:600]).decode("ascii")
        return json.dumps({"bytes": len(payload), "head_base64": head})
    if not isinstance(payload, str):
        payload = json.dumps(payload, ensure_ascii=False, default=str)
    if len(payload) > MAX_PAYLOAD_CHARS:
        return payload[:MAX_PAYLOAD_CHARS] + f"…（截断，共 {len(payload)} 字符）"
    return payload
