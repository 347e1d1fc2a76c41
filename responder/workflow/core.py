"""The workflow's plumbing: load and claim an incident, run a command in one transaction, and
write its timeline entry, audit records and event.

Concurrent commands on one incident: the command's first statement bumps the incident's
``version``, which takes the write lock (SQLite) or the row lock (PostgreSQL) before anything is
read. The command then reads a state nobody else can change until it commits, so it never acts
on a stale state and never has to retry, however busy the incident is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings
from huiyin.responder import audit, deadlines
from huiyin.responder.actor import Actor
from huiyin.responder.audit import AuditEntry
from huiyin.responder.bus.base import Bus
from huiyin.responder.context import Context
from huiyin.responder.escalation import Outcome
from huiyin.responder.events import incident_event, publish
from huiyin.responder.rules import check_actor, refuse
from huiyin.responder.store.db import Database
from huiyin.responder.store.tables import Incident, RoutingDecision, StageEvent
from huiyin.responder.store.types import utcnow

Command = Callable[[Session, Incident, datetime], "Change"]


@dataclass
class Change:
    """What a command did, for the timeline, the audit trail and the event."""

    action: str  # audit action and event type
    reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None  # StageEvent kind (default: "stage" if the stage moved, else the action)
    extra: Outcome = field(default_factory=Outcome)  # escalations caused by the command (late responses)
    also: list[Incident] = field(default_factory=list)  # other incidents changed (merge target)


class WorkflowCore:
    """Collaborators and the transaction every command runs in; the commands live in mixins."""

    def __init__(self, db: Database, org: OrgDirectory, settings: Settings, bus: Bus | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.org = org
        self.settings = settings
        self.bus = bus
        self.clock = clock or utcnow
        self.ctx = Context.from_settings(settings, org)

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the workflow clock returned a naive datetime")
        return now.astimezone(UTC)

    def _claim(self, session: Session, incident_id: str) -> None:
        """Bump the version as the first write: it takes SQLite's write lock or PostgreSQL's row lock.

        Reading first and claiming after (compare-and-set) lost to a steady stream of posts on
        SQLite, where a deferred transaction's read is not protected by the later write."""
        done = session.execute(
            update(Incident).where(Incident.id == incident_id)
            .values(version=Incident.version + 1).execution_options(synchronize_session=False)
        ).rowcount
        if done != 1:
            raise refuse(f"事件 {incident_id} 不存在", "not_found")

    def _load(self, session: Session, incident_id: str) -> Incident:
        query = select(Incident).where(Incident.id == incident_id).options(selectinload(Incident.deadlines))
        incident = session.execute(query).scalar_one_or_none()
        if incident is None:
            raise refuse(f"事件 {incident_id} 不存在", "not_found")
        return incident

    def _run(self, incident_id: str, actor: Actor, command: Command) -> Incident:
        now = self._now()
        with self.db.transaction() as session:
            self._claim(session, incident_id)
            incident = self._load(session, incident_id)
            check_actor(self.org, actor, incident)
            before = incident.stage
            change = command(session, incident, now)
            incident.updated_at = now
            moved = incident.stage != before
            payload = {**change.payload, "from_stage": before, "to_stage": incident.stage, "status": incident.status}
            session.add(StageEvent(
                incident_id=incident.id, at=now, actor=actor.username, unit_id=actor.unit_id,
                kind=change.kind or ("stage" if moved else change.action), from_stage=before,
                to_stage=incident.stage, reason=change.reason, payload=payload,
            ))
            for other in change.also:
                other.updated_at = now
            who = {"role": actor.role, "unit_id": actor.unit_id}
            entries = [AuditEntry(actor.username, change.action, "incident", incident.id, now, change.reason,
                                  {**payload, **who})]
            entries += [AuditEntry(actor.username, f"{change.action}_into", "incident", o.id, now, change.reason,
                                   {"from_incident": incident.id, **who}) for o in change.also]
            events = [incident_event(incident, change.action, actor=actor.username, at=now, data=payload)]
            events += [incident_event(o, change.action, actor=actor.username, at=now,
                                      data={**payload, "merged_from": incident.id}) for o in change.also]
            audit.append(session, [*entries, *change.extra.audits])
            session.flush()
            _ = incident.deadlines  # loaded before the session closes: callers read them detached
        publish(self.bus, self.ctx.events_topic, [*events, *change.extra.events])
        return incident

    # -- helpers shared by several commands -------------------------------------------------------
    def _unit_name(self, unit_id: str) -> str:
        unit = self.org.units.get(unit_id)
        return unit.name if unit else unit_id

    def _decision(self, incident: Incident, actor: Actor, now: datetime, rule: str, reasons: list[str]) -> None:
        for old in incident.decisions:
            old.current = False
        incident.decisions.append(RoutingDecision(
            incident_id=incident.id, unit_id=incident.unit_id, lead_unit_id=incident.lead_unit_id,
            co_unit_ids=list(incident.co_unit_ids or []), rule=rule, reasons=reasons, field_id=incident.field_id,
            severity=incident.severity, place=dict(incident.place or {}), decided_by=actor.username, decided_at=now,
        ))

    def _hand_to(self, incident: Incident, unit_id: str) -> None:
        if incident.lead_unit_id == incident.unit_id:
            incident.lead_unit_id = unit_id
        incident.unit_id = unit_id
        deadlines.reassign(incident, unit_id)
