"""Incident queries and their conversion to API schemas (rows never leave this module)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, selectinload

from huiyin.api import schemas as s
from huiyin.api.principal import Principal
from huiyin.config.org import OrgDirectory
from huiyin.responder.rules import consult_required
from huiyin.responder.store.tables import (
    Deadline,
    Escalation,
    Incident,
    Post,
    Response,
    RoutingDecision,
    StageEvent,
    Transfer,
)

_SEVERITY_RANK = {sev: i for i, sev in enumerate(s.SEVERITIES)}
_ACTIVE_STAGES = ("收集", "研判", "会商")


@dataclass(frozen=True)
class IncidentFilters:
    """Query filters of ``GET /api/incidents``."""

    stage: str | None = None
    severity: str | None = None
    status: str | None = None
    unit_id: str | None = None
    field_id: str | None = None
    detected_from: datetime | None = None
    detected_to: datetime | None = None
    q: str | None = None


def list_incidents(
    session: Session, org: OrgDirectory, scope: ColumnElement[bool], filters: IncidentFilters, *,
    now: datetime, limit: int, offset: int,
) -> s.IncidentListOut:
    """Visible incidents, most severe first, then the least time left on the nearest open clock."""
    next_due = (
        select(Deadline.incident_id, func.min(Deadline.due_at).label("next_due"))
        .where(Deadline.status == "open")
        .group_by(Deadline.incident_id)
        .subquery()
    )
    where = [scope]
    if filters.stage:
        where.append(Incident.stage == filters.stage)
    if filters.severity:
        where.append(Incident.severity == filters.severity)
    if filters.status:
        where.append(Incident.status == filters.status)
    if filters.unit_id:
        where.append((Incident.unit_id == filters.unit_id) | (Incident.lead_unit_id == filters.unit_id))
    if filters.field_id:
        where.append(Incident.field_id == filters.field_id)
    if filters.detected_from:
        where.append(Incident.detected_at >= filters.detected_from)
    if filters.detected_to:
        where.append(Incident.detected_at < filters.detected_to)
    if filters.q:
        pattern = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(Incident.title.like(pattern, escape="\\") | Incident.summary.like(pattern, escape="\\"))
    total = session.scalar(select(func.count()).select_from(Incident).where(*where)) or 0
    severity_rank = case(_SEVERITY_RANK, value=Incident.severity, else_=len(_SEVERITY_RANK))
    rows = session.execute(
        select(Incident)
        .outerjoin(next_due, next_due.c.incident_id == Incident.id)
        .where(*where)
        .order_by(
            severity_rank,
            next_due.c.next_due.is_(None),
            next_due.c.next_due,
            Incident.detected_at.desc(),
            Incident.id,
        )
        .options(selectinload(Incident.deadlines), selectinload(Incident.decisions))
        .limit(limit)
        .offset(offset)
    ).scalars().all()
    pending = _pending_transfers(session, [r.id for r in rows])
    return s.IncidentListOut(items=[incident_out(r, org, now, pending.get(r.id)) for r in rows], total=total, now=now)


def _pending_transfers(session: Session, ids: Sequence[str]) -> dict[str, Transfer]:
    if not ids:
        return {}
    found = session.scalars(
        select(Transfer).where(Transfer.incident_id.in_(ids), Transfer.status == "pending").order_by(Transfer.id)
    ).all()
    return {t.incident_id: t for t in found}


def _unit_name(org: OrgDirectory, unit_id: str | None) -> str | None:
    if unit_id is None:
        return None
    unit = org.units.get(unit_id)
    return unit.name if unit else unit_id


def _field_name(org: OrgDirectory, field_id: str | None) -> str | None:
    if field_id is None:
        return None
    f = org.fields.get(field_id)
    return f.name if f else field_id


def place_name(org: OrgDirectory, incident: Incident) -> str:
    """The place as people say it: the jurisdiction's full name, else the parts the router found."""
    j = org.jurisdictions.get(incident.jurisdiction_id)
    if j is not None:
        return j.full_name or j.name
    place = incident.place or {}
    parts = [place.get(k) for k in ("province", "city", "county", "township")]
    return "".join(p for p in parts if p) or incident.jurisdiction_id


def clock_out(d: Deadline, now: datetime) -> s.ClockOut:
    running = d.status == "open"
    left = (d.due_at - now).total_seconds() if running else None
    return s.ClockOut(
        rule=d.rule, label=d.label, unit_id=d.unit_id, starts_at=d.starts_at, due_at=d.due_at, warn_at=d.warn_at,
        status=d.status, met_at=d.met_at, missed_at=d.missed_at, seconds_left=left,
        overdue=d.status == "missed" or (running and left is not None and left < 0),
    )


def incident_out(inc: Incident, org: OrgDirectory, now: datetime, pending: Transfer | None) -> s.IncidentOut:
    return s.IncidentOut(**_incident_fields(inc, org, now, pending))


def _incident_fields(inc: Incident, org: OrgDirectory, now: datetime, pending: Transfer | None) -> dict:
    clocks = [clock_out(d, now) for d in inc.deadlines]
    open_clocks = [c for c in clocks if c.status == "open"]
    nearest = min(open_clocks, key=lambda c: c.due_at) if open_clocks else None
    current = next((d for d in reversed(inc.decisions) if d.current), inc.decisions[-1] if inc.decisions else None)
    unit = org.units.get(inc.unit_id)
    return dict(
        id=inc.id, title=inc.title, summary=inc.summary or "", stage=inc.stage, status=inc.status,
        severity=inc.severity, field_id=inc.field_id, field_name=_field_name(org, inc.field_id),
        place=dict(inc.place or {}), place_name=place_name(org, inc), jurisdiction_id=inc.jurisdiction_id,
        unit_id=inc.unit_id, unit_name=_unit_name(org, inc.unit_id) or inc.unit_id,
        unit_tier=str(unit.tier) if unit else None, lead_unit_id=inc.lead_unit_id,
        lead_unit_name=_unit_name(org, inc.lead_unit_id), co_unit_ids=list(inc.co_unit_ids or []),
        needs_review=bool(inc.needs_review), event_at=inc.event_at, detected_at=inc.detected_at,
        updated_at=inc.updated_at, post_count=inc.post_count or 0, heat=inc.heat or 0.0,
        routing_rule=current.rule if current else None,
        routing_reasons=[str(r) for r in (current.reasons or [])] if current else [],
        clocks=clocks, next_due_at=nearest.due_at if nearest else None,
        seconds_left=nearest.seconds_left if nearest else None,
        pending_transfer=_transfer_out(org, pending), merged_into=inc.merged_into,
    )


def _transfer_out(org: OrgDirectory, t: Transfer | None) -> s.TransferOut | None:
    if t is None:
        return None
    return s.TransferOut(
        to_unit_id=t.to_unit_id, to_unit_name=_unit_name(org, t.to_unit_id) or t.to_unit_id,
        from_unit_id=t.from_unit_id, reason=t.reason, at=t.requested_at,
    )


def load_incident(session: Session, incident_id: str) -> Incident | None:
    return session.scalar(
        select(Incident)
        .where(Incident.id == incident_id)
        .options(selectinload(Incident.deadlines), selectinload(Incident.decisions), selectinload(Incident.events))
    )


def incident_detail(
    session: Session, org: OrgDirectory, inc: Incident, user: Principal, now: datetime
) -> s.IncidentDetailOut:
    """Posts, decisions with reasons, clocks, timeline, responses and escalations of one incident."""
    pending = _pending_transfers(session, [inc.id]).get(inc.id)
    posts = session.scalars(
        select(Post).where(Post.incident_id == inc.id).order_by(Post.published_at.is_(None), Post.published_at, Post.id)
    ).all()
    responses = session.scalars(select(Response).where(Response.incident_id == inc.id).order_by(Response.published_at)).all()
    escalations = session.scalars(select(Escalation).where(Escalation.incident_id == inc.id).order_by(Escalation.at)).all()
    return s.IncidentDetailOut(
        **_incident_fields(inc, org, now, pending),
        posts=[
            s.PostOut(
                id=p.id, source=p.source, url=p.url, channel=p.channel, title=p.title, text=p.text, author=p.author,
                published_at=p.published_at, fetched_at=p.fetched_at, likes=p.likes or 0, reposts=p.reposts or 0,
                comments=p.comments or 0, reply_text=p.reply_text, reply_at=p.reply_at,
            )
            for p in posts
        ],
        decisions=[_routing_out(org, d) for d in inc.decisions],
        timeline=[_timeline_out(e) for e in sorted(inc.events, key=lambda e: (e.at, e.id))],
        responses=[
            s.ResponseOut(
                id=r.id, unit_id=r.unit_id, kind=r.kind, channel=r.channel, published_at=r.published_at, link=r.link,
                content=r.content, recorded_by=r.recorded_by, recorded_at=r.recorded_at,
            )
            for r in responses
        ],
        escalations=[
            s.EscalationOut(kind=e.kind, from_unit_id=e.from_unit_id, to_unit_ids=list(e.to_unit_ids or []), at=e.at,
                            note=e.note or "")
            for e in escalations
        ],
        actions=allowed_actions(inc, user, pending),
        now=now,
    )


def _routing_out(org: OrgDirectory, d: RoutingDecision) -> s.RoutingOut:
    unit = org.units.get(d.unit_id)
    return s.RoutingOut(
        id=d.id, unit_id=d.unit_id, unit_name=_unit_name(org, d.unit_id) or d.unit_id,
        unit_tier=str(unit.tier) if unit else None, lead_unit_id=d.lead_unit_id, co_unit_ids=list(d.co_unit_ids or []),
        rule=d.rule, reasons=[str(r) for r in (d.reasons or [])], field_id=d.field_id,
        field_name=_field_name(org, d.field_id), severity=d.severity, place=dict(d.place or {}),
        confidence=d.confidence, decided_by=d.decided_by, decided_at=d.decided_at, current=bool(d.current),
    )


def _timeline_out(e: StageEvent) -> s.TimelineOut:
    return s.TimelineOut(
        at=e.at, actor=e.actor, unit_id=e.unit_id, kind=e.kind, from_stage=e.from_stage, to_stage=e.to_stage,
        reason=e.reason, payload=dict(e.payload or {}),
    )


def allowed_actions(inc: Incident, user: Principal, pending: Transfer | None) -> list[str]:
    """Commands worth offering this user now: a hint for the dashboard, mirroring the workflow's
    rules (responder.rules); the workflow still decides and explains a refusal."""
    if user.read_only:
        return []
    coordinator = user.role in ("publicity", "admin")
    if inc.status != "open":
        return ["reopen"] if coordinator and inc.status == "closed" else []
    holder = user.unit_id == inc.unit_id or user.role == "admin"
    actions: list[str] = []
    if pending is not None:
        if user.unit_id == pending.to_unit_id or user.role == "admin":
            actions += ["transfer_accept", "transfer_reject"]
    else:
        if coordinator:
            if inc.stage in ("收集", "研判"):
                actions += ["assess", "dismiss"]
            if inc.stage in ("收集", "研判", "会商"):
                actions.append("reroute")
            if inc.stage in ("研判", "会商"):
                actions.append("consult")
        if holder and user.role in ("unit", "admin") and (
            inc.stage == "会商" or (inc.stage == "研判" and not consult_required(inc))
        ):
            actions.append("accept")
        if (holder or coordinator) and inc.stage in ("收集", "研判", "会商", "处置"):
            actions.append("transfer")
    if coordinator:
        actions += ["regrade", "merge"]
    if holder and inc.stage in ("处置", "回应"):
        actions += ["handling", "responses"]
    elif coordinator and inc.stage in ("研判", "会商", "处置", "回应"):
        actions.append("responses")  # authoritative information and clarifications
    if (holder or coordinator) and inc.stage == "回应":
        actions.append("evaluate")
    return list(dict.fromkeys(actions))
