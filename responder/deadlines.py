"""An incident's deadlines in the database: create, re-plan after a regrade, meet, move, cancel.

The clock start is always recomputed from the incident's recorded event and detection times, so
raising the severity later starts the stricter clocks from the original start, not from the
moment of the regrade.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from huiyin.responder.clocks import ClockBook, MatterFacts, PlannedDeadline
from huiyin.responder.context import Context
from huiyin.responder.escalation import Outcome, record_miss
from huiyin.responder.store.tables import Deadline, Incident


def facts_of(incident: Incident) -> MatterFacts:
    """The facts the clock rules look at."""
    return MatterFacts(
        severity=incident.severity, detected_at=incident.detected_at, event_at=incident.event_at,
        matter_kind=incident.matter_kind or "opinion", channel=incident.channel, urgent=bool(incident.urgent),
    )


def row_of(planned: PlannedDeadline, incident_id: str, unit_id: str) -> dict[str, Any]:
    """Column values of a new Deadline (for bulk inserts)."""
    return dict(
        incident_id=incident_id, rule=planned.rule, label=planned.label, basis=planned.basis, note=planned.note,
        unit_id=unit_id, starts_at=planned.starts_at, due_at=planned.due_at, warn_at=planned.warn_at, status="open",
    )


def replan(session: Session, clocks: ClockBook, incident: Incident) -> tuple[list[str], list[str]]:
    """Bring the clocks in line with the incident's facts after a regrade or correction.

    Rules that now apply and have no deadline get one from the original start; open deadlines of
    rules that no longer apply are cancelled (a met or missed one stays as history). A rule that
    applies again after being cancelled is reopened. Returns (added or reopened, cancelled) rule ids.
    """
    wanted = {p.rule: p for p in clocks.plan(facts_of(incident))}
    existing = {d.rule: d for d in incident.deadlines}
    added: list[str] = []
    cancelled: list[str] = []
    for rule, planned in wanted.items():
        current = existing.get(rule)
        if current is None:
            deadline = Deadline(**row_of(planned, incident.id, incident.unit_id))
            incident.deadlines.append(deadline)
            session.add(deadline)
            added.append(rule)
        elif current.status == "cancelled":
            current.status, current.unit_id = "open", incident.unit_id
            current.starts_at, current.due_at, current.warn_at = planned.starts_at, planned.due_at, planned.warn_at
            added.append(rule)
    for rule, deadline in existing.items():
        if rule not in wanted and deadline.status == "open":
            deadline.status = "cancelled"
            cancelled.append(rule)
    return added, cancelled


def meet(
    session: Session, ctx: Context, incident: Incident, *, kind: str, channel: str, published_at: datetime,
    now: datetime,
) -> tuple[list[str], Outcome]:
    """Apply a published response to the open clocks it satisfies.

    Published in time: the clock is met. Published after the due time (and the checker had not yet
    noticed): it is a miss, answered late — escalated and recorded for 问责 like any other miss.
    A clock already missed keeps its status but learns when it was finally answered.
    """
    met: list[str] = []
    outcome = Outcome()
    for deadline in incident.deadlines:
        if not ctx.clocks.satisfies(deadline.rule, kind, channel):
            continue
        if deadline.status == "open":
            if published_at <= deadline.due_at:
                deadline.status, deadline.met_at = "met", published_at
                met.append(deadline.rule)
            else:
                outcome.extend(record_miss(session, ctx, incident, deadline, now, met_late_at=published_at))
        elif deadline.status == "missed" and deadline.met_at is None:
            deadline.met_at = published_at
    return met, outcome


def reassign(incident: Incident, unit_id: str) -> None:
    """Open clocks follow the matter to its new holder; their start does not change."""
    for deadline in incident.deadlines:
        if deadline.status == "open":
            deadline.unit_id = unit_id


def cancel_open(incident: Incident) -> list[str]:
    """Stop every open clock (dismissed or merged matters)."""
    rules = []
    for deadline in incident.deadlines:
        if deadline.status == "open":
            deadline.status = "cancelled"
            rules.append(deadline.rule)
    return rules


def restore_cancelled(incident: Incident, clocks: ClockBook) -> list[str]:
    """Reopen clocks cancelled by a dismissal when the matter is reopened (same original times)."""
    applicable = {p.rule for p in clocks.plan(facts_of(incident))}
    rules = []
    for deadline in incident.deadlines:
        if deadline.status == "cancelled" and deadline.rule in applicable:
            deadline.status, deadline.unit_id = "open", incident.unit_id
            rules.append(deadline.rule)
    return rules
