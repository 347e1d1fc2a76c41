"""IncidentEvents on ``incident.events``: built inside a transaction, published after its commit.

The database is the truth; events tell the live dashboard and anyone else that something changed.
Event ids are deterministic where a replay may publish the same event again, so consumers can
drop duplicates.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from huiyin.responder.bus.base import Bus
from huiyin.responder.store.tables import Incident

log = logging.getLogger(__name__)


def incident_event(
    incident: Incident, type_: str, *, actor: str, at: datetime, data: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A JSON-ready IncidentEvent describing ``incident`` after the change."""
    return make_event(
        incident.id, type_, actor=actor, at=at, unit_id=incident.unit_id, jurisdiction_id=incident.jurisdiction_id,
        stage=incident.stage, severity=incident.severity, event_id=event_id,
        data={"status": incident.status, "title": incident.title, **(data or {})},
    )


def make_event(
    incident_id: str, type_: str, *, actor: str, at: datetime, unit_id: str | None = None,
    jurisdiction_id: str | None = None, stage: str | None = None, severity: str | None = None,
    data: dict[str, Any] | None = None, event_id: str | None = None,
) -> dict[str, Any]:
    """A JSON-ready IncidentEvent from plain values (the stage builds thousands per second).

    Built as the dict ``IncidentEvent(...).model_dump(mode="json")`` would give, without the cost of
    validating our own output; ``data`` must already be JSON-ready.
    """
    return {
        "event_id": event_id or uuid.uuid4().hex, "incident_id": incident_id, "type": type_,
        "at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"), "actor": actor, "unit_id": unit_id,
        "jurisdiction_id": jurisdiction_id, "stage": stage, "severity": severity, "data": data or {},
    }


def publish(bus: Bus | None, topic: str, events: Sequence[dict[str, Any]], *, strict: bool = False) -> None:
    """Publish events keyed by incident id and flush.

    ``strict``: raise on failure (the stage retries and republishes); otherwise log it, because the
    change is already committed and the caller (a user's command) must not be told it failed.
    """
    if bus is None or not events:
        return
    try:
        bus.publish_many(topic, [(e["incident_id"], e) for e in events])
        bus.flush()
    except Exception:
        if strict:
            raise
        log.exception("could not publish %d incident event(s) to %s (first: %s %s)",
                      len(events), topic, events[0]["incident_id"], events[0]["type"])
