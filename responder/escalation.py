"""What happens when a clock is endangered or missed: warnings, escalations and 问责 records.

A warning goes to the holding unit and the publicity office of the place. A miss goes one tier up
(``org.escalation_target``: the same department type above, else the parent government) and to
the publicity office, and leaves an Accountability record naming the unit and the rule
(004 §二(三)2: 回应不及时…予以问责). Each change is audited and produces an IncidentEvent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from huiyin.responder.audit import AuditEntry
from huiyin.responder.context import Context
from huiyin.responder.events import incident_event
from huiyin.responder.store.tables import Accountability, Deadline, Escalation, Incident

log = logging.getLogger(__name__)
SYSTEM = "system:clock"


@dataclass
class Outcome:
    """Records to audit and events to publish after the transaction commits."""

    audits: list[AuditEntry] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    warned: int = 0
    missed: int = 0

    def extend(self, other: Outcome) -> None:
        self.audits += other.audits
        self.events += other.events
        self.warned += other.warned
        self.missed += other.missed


def publicity_for(ctx: Context, incident: Incident) -> str | None:
    """The publicity office of the incident's place (or of the home jurisdiction)."""
    for jid in (incident.jurisdiction_id, ctx.home_jurisdiction):
        try:
            return ctx.org.publicity_office(jid).id
        except KeyError:
            continue
    return None


def miss_targets(ctx: Context, unit_id: str, incident: Incident) -> list[str]:
    """Who hears of a miss: the next tier up and the publicity office (no duplicates)."""
    targets: list[str] = []
    try:
        up = ctx.org.escalation_target(unit_id)
        if up is not None:
            targets.append(up.id)
    except KeyError:
        log.warning("incident %s: unit %s is not in the org directory; escalating to the publicity office only",
                    incident.id, unit_id)
    office = publicity_for(ctx, incident)
    if office and office not in targets:
        targets.append(office)
    return targets


def _touch(session: Session, incident: Incident) -> None:
    """Bump the incident's version before changing one of its clocks.

    A workflow command that read the incident (and its clocks) just before then sees the change
    and runs again on the fresh state; on PostgreSQL it also takes the incident's row lock first,
    in the same order as the workflow (incident, then deadline), so the two never deadlock.
    """
    session.execute(
        update(Incident).where(Incident.id == incident.id).values(version=Incident.version + 1)
        .execution_options(synchronize_session=False)
    )


def record_warning(session: Session, ctx: Context, incident: Incident, deadline: Deadline, now: datetime) -> Outcome:
    """Warn once that ``deadline`` is close; a no-op if another checker already warned."""
    _touch(session, incident)
    claimed = session.execute(
        update(Deadline).where(Deadline.id == deadline.id, Deadline.status == "open", Deadline.warned_at.is_(None))
        .values(warned_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return Outcome()
    deadline.warned_at = now
    to = [deadline.unit_id]
    office = publicity_for(ctx, incident)
    if office and office not in to:
        to.append(office)
    note = f"{deadline.label}：将于 {ctx.local(deadline.due_at)} 到期，请抓紧办理"
    session.add(Escalation(incident_id=incident.id, deadline_id=deadline.id, kind="warning",
                           from_unit_id=deadline.unit_id, to_unit_ids=to, at=now, note=note))
    data = {"rule": deadline.rule, "label": deadline.label, "due_at": deadline.due_at.isoformat(), "to": to}
    return Outcome(
        audits=[AuditEntry(SYSTEM, "deadline_warning", "incident", incident.id, now, note, data)],
        events=[incident_event(incident, "deadline_warning", actor=SYSTEM, at=now, data=data,
                               event_id=f"{incident.id}:{deadline.rule}:warning")],
        warned=1,
    )


def record_miss(session: Session, ctx: Context, incident: Incident, deadline: Deadline, now: datetime,
                *, met_late_at: datetime | None = None) -> Outcome:
    """Mark ``deadline`` missed, escalate it and open a 问责 record; a no-op if already done."""
    _touch(session, incident)
    claimed = session.execute(
        update(Deadline).where(Deadline.id == deadline.id, Deadline.status == "open")
        .values(status="missed", missed_at=now, met_at=met_late_at).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return Outcome()
    deadline.status, deadline.missed_at, deadline.met_at = "missed", now, met_late_at
    targets = miss_targets(ctx, deadline.unit_id, incident)
    late = f"，{ctx.local(met_late_at)} 才回应" if met_late_at else ""
    note = (f"{deadline.label}（{deadline.basis or deadline.rule}）：应于 {ctx.local(deadline.due_at)} 前完成{late}，"
            f"已超时；责任单位 {deadline.unit_id}")
    session.add(Escalation(incident_id=incident.id, deadline_id=deadline.id, kind="miss",
                           from_unit_id=deadline.unit_id, to_unit_ids=targets, at=now, note=note))
    session.add(Accountability(incident_id=incident.id, deadline_id=deadline.id, unit_id=deadline.unit_id,
                               rule=deadline.rule, created_at=now, note=note))
    data = {"rule": deadline.rule, "label": deadline.label, "due_at": deadline.due_at.isoformat(),
            "unit_id": deadline.unit_id, "escalated_to": targets}
    event_id = f"{incident.id}:{deadline.rule}:missed"
    return Outcome(
        audits=[
            AuditEntry(SYSTEM, "deadline_missed", "incident", incident.id, now, note, data),
            AuditEntry(SYSTEM, "accountability", "unit", deadline.unit_id, now, note,
                       {"incident_id": incident.id, "rule": deadline.rule}),
        ],
        events=[
            incident_event(incident, "deadline_missed", actor=SYSTEM, at=now, data=data, event_id=event_id),
            incident_event(incident, "escalated", actor=SYSTEM, at=now, data=data, event_id=f"{event_id}:escalated"),
        ],
        missed=1,
    )
