"""Source health (``source_health``) and the operations alerts a change of health raises.

A source is ``degraded`` when the site blocks us (403/429, captcha, login wall) or cannot be read at
all (start page unreachable, selectors matching nothing). The alert goes to ``settings.topics.ops_alerts``
when a source becomes degraded (or its reason changes) and when it recovers, not on every run.

Alert value (key = source name)::

    {"type": "source_degraded" | "source_recovered", "source": "...", "reason": "...", "url": "...",
     "at": "<ISO 8601>", "severity": "warning" | "info", "message": "<Chinese, for people>"}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from huiyin.config.settings import Settings
from huiyin.responder.bus import Bus
from huiyin.responder.store import Database
from huiyin.responder.store.tables import SourceHealth


def alert_value(kind: str, source: str, reason: str | None, url: str | None, at: datetime) -> dict[str, Any]:
    """The ops alert for a health change."""
    degraded = kind == "source_degraded"
    message = f"采集源 {source} 已降级：{reason}" if degraded else f"采集源 {source} 已恢复正常"
    return {
        "type": kind,
        "source": source,
        "reason": reason,
        "url": url,
        "at": at.isoformat(),
        "severity": "warning" if degraded else "info",
        "message": message,
    }


def mark_degraded(db: Database, bus: Bus | None, settings: Settings, source: str, reason: str, *, url: str | None, at: datetime) -> bool:
    """Record the source as degraded; alert if it was not (or for another reason). True if alerted."""
    with db.transaction() as session:
        row = session.get(SourceHealth, source)
        changed = row is None or row.status != "degraded" or row.reason != reason
        if row is None:
            row = SourceHealth(source=source, status="degraded", reason=reason, since=at, last_run_at=at, last_items=0)
            session.add(row)
        else:
            if row.status != "degraded":
                row.since = at
            row.status, row.reason, row.last_run_at = "degraded", reason, at
    if changed and bus is not None:
        bus.publish(settings.topics.ops_alerts, alert_value("source_degraded", source, reason, url, at), key=source)
        bus.flush()
    return changed


def mark_ok(db: Database, bus: Bus | None, settings: Settings, source: str, *, items: int, at: datetime) -> bool:
    """Record a successful run; alert if the source was degraded. True if it recovered."""
    with db.transaction() as session:
        row = session.get(SourceHealth, source)
        recovered = row is not None and row.status == "degraded"
        if row is None:
            session.add(SourceHealth(source=source, status="ok", reason=None, since=at, last_run_at=at, last_items=items))
        else:
            if recovered:
                row.since = at
            row.status, row.reason, row.last_run_at, row.last_items = "ok", None, at, items
    if recovered and bus is not None:
        bus.publish(settings.topics.ops_alerts, alert_value("source_recovered", source, None, None, at), key=source)
        bus.flush()
    return recovered


def record_items(db: Database, source: str, *, items: int, at: datetime) -> None:
    """Keep the last run's time and item count without touching the status (a degraded run)."""
    with db.transaction() as session:
        row = session.get(SourceHealth, source)
        if row is not None:
            row.last_run_at, row.last_items = at, items


def health_by_source(db: Database) -> dict[str, SourceHealth]:
    """Every recorded source's health row (detached)."""
    with db.session() as session:
        rows = session.scalars(select(SourceHealth)).all()
        session.expunge_all()
    return {row.source: row for row in rows}
