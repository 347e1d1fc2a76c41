"""The leader's timeliness report: per unit and tier, for any period.

Every figure is traceable to rows: a clock is a ``deadlines`` row (its rule id names the rule of
config/clocks.yaml), a response a ``responses`` row, a transfer a ``stage_events`` row of kind
``transfer``, an escalation an ``escalations`` row. The period selects incidents by when they
were detected; a clock counts as

* on time — met no later than its due time;
* late — missed (answered late or not at all), or still open past its due time;
* running — open and not yet due (left out of the rate).

Overdue items are the late clocks; ``overdue_s`` runs to the late answer, or to now if none came.
事事有回音 closure rate = incidents answered (at least one response) and closed, divided by the
incidents that called for an answer (dismissed and merged ones excluded). Transfers are ``transfers``
rows requested for incidents of the period (out: the handing unit; in: the receiving unit).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from huiyin.api import schemas as s
from huiyin.config.org import OrgDirectory, Tier
from huiyin.responder.store.tables import Deadline, Escalation, Incident, Response, Transfer

# Clock kinds shown to leaders, by rule id (config/clocks.yaml).
CLOCK_KINDS: dict[str, tuple[str, str]] = {
    "5h": ("authoritative_info_5h", "5小时内发布权威信息"),
    "24h": ("press_conference_24h", "24小时内举行新闻发布会"),
    "48h": ("response_48h", "48小时内回应"),
}
_KIND_OF_RULE = {rule: kind for kind, (rule, _) in CLOCK_KINDS.items()}


@dataclass
class _Acc:
    """Running totals of one row."""

    incidents: int = 0
    clocks: dict[str, list[int]] = field(default_factory=lambda: {k: [0, 0, 0] for k in CLOCK_KINDS})
    first_response_s: list[float] = field(default_factory=list)
    responded: int = 0
    overdue: int = 0
    escalated: set[str] = field(default_factory=set)
    eligible: int = 0
    closed_with_response: int = 0
    transfers_out: int = 0
    transfers_in: int = 0

    def add(self, other: _Acc) -> None:
        self.incidents += other.incidents
        for k, v in other.clocks.items():
            for i in range(3):
                self.clocks[k][i] += v[i]
        self.first_response_s += other.first_response_s
        self.responded += other.responded
        self.overdue += other.overdue
        self.escalated |= other.escalated
        self.eligible += other.eligible
        self.closed_with_response += other.closed_with_response
        self.transfers_out += other.transfers_out
        self.transfers_in += other.transfers_in


def clock_outcome(d: Deadline, now: datetime) -> str | None:
    """on_time | late | running for a clock; None for a cancelled one."""
    if d.status == "cancelled":
        return None
    if d.status == "met":
        return "on_time" if d.met_at is not None and d.met_at <= d.due_at else "late"
    if d.status == "missed" or d.due_at < now:
        return "late"
    return "running"


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _rate(on_time: int, late: int) -> float | None:
    return round(on_time / (on_time + late), 4) if on_time + late else None


def timeliness(
    session: Session,
    org: OrgDirectory,
    scope: ColumnElement[bool],
    *,
    period_from: datetime,
    period_to: datetime,
    now: datetime,
    timezone: str,
    tier: str | None = None,
    unit_id: str | None = None,
) -> s.TimelinessOut:
    """Compute the report over incidents in ``scope`` detected in [period_from, period_to)."""
    where = [scope, Incident.detected_at >= period_from, Incident.detected_at < period_to, Incident.status != "merged"]
    ids = select(Incident.id).where(*where)
    incidents = session.scalars(select(Incident).where(*where)).all()
    deadlines = session.scalars(select(Deadline).where(Deadline.incident_id.in_(ids))).all()
    first_resp = dict(
        session.execute(
            select(Response.incident_id, func.min(Response.published_at))
            .where(Response.incident_id.in_(ids))
            .group_by(Response.incident_id)
        ).all()
    )
    escalations = session.execute(
        select(Escalation.incident_id, Escalation.from_unit_id).where(Escalation.incident_id.in_(ids))
    ).all()
    transfers = session.execute(
        select(Transfer.from_unit_id, Transfer.to_unit_id, Transfer.status).where(Transfer.incident_id.in_(ids))
    ).all()

    rows: dict[str, _Acc] = defaultdict(_Acc)
    tz = ZoneInfo(timezone)
    weekly = (period_to - period_from) > timedelta(days=45)
    by_bucket: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])  # (bucket, unit) -> [on time, late]
    overdue: list[s.OverdueItemOut] = []
    titles = {i.id: i.title for i in incidents}

    for inc in incidents:
        acc = rows[inc.unit_id]
        acc.incidents += 1
        answered_at = first_resp.get(inc.id)
        if answered_at is not None:
            acc.responded += 1
            starts = [t for t in (inc.event_at, inc.detected_at) if t is not None]
            acc.first_response_s.append(max(0.0, (answered_at - min(starts)).total_seconds()))
        if inc.resolution != "dismissed":
            acc.eligible += 1
            if answered_at is not None and inc.status == "closed":
                acc.closed_with_response += 1

    for d in deadlines:
        outcome = clock_outcome(d, now)
        if outcome is None:
            continue
        acc = rows[d.unit_id]
        kind = _KIND_OF_RULE.get(d.rule)
        if kind is not None:
            acc.clocks[kind][("on_time", "late", "running").index(outcome)] += 1
        if d.status == "missed" or (d.status == "open" and d.due_at < now):
            acc.overdue += 1
            overdue.append(
                s.OverdueItemOut(
                    incident_id=d.incident_id, title=titles.get(d.incident_id, ""), unit_id=d.unit_id,
                    unit_name=_unit_name(org, d.unit_id), rule=d.rule, label=d.label, due_at=d.due_at,
                    status=d.status, answered_at=d.met_at, overdue_s=((d.met_at or now) - d.due_at).total_seconds(),
                )
            )
        if outcome != "running":
            local = d.due_at.astimezone(tz).date()
            bucket = (local - timedelta(days=local.weekday())) if weekly else local
            by_bucket[(bucket.isoformat(), d.unit_id)][0 if outcome == "on_time" else 1] += 1

    for incident_id, from_unit in escalations:
        rows[from_unit].escalated.add(incident_id)
    for source, target, _status in transfers:
        rows[source].transfers_out += 1
        rows[target].transfers_in += 1

    unit_rows = []
    tier_accs: dict[str, _Acc] = defaultdict(_Acc)
    total = _Acc()
    for uid, acc in rows.items():
        t = _tier_of(org, uid)
        if (tier and t != tier) or (unit_id and uid != unit_id):
            continue
        unit_rows.append(_row(uid, _unit_name(org, uid), t, acc))
        tier_accs[t or "unknown"].add(acc)
        total.add(acc)
    unit_rows.sort(key=lambda r: (_tier_rank(r.tier), r.key))
    tier_rows = [
        _row(t, _tier_label(t) or "未知", t, acc) for t, acc in sorted(tier_accs.items(), key=lambda kv: _tier_rank(kv[0]))
    ]
    kept_units = {r.key for r in unit_rows}
    trend: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (bucket, uid), (on_time, late) in by_bucket.items():
        if uid in kept_units:
            for key in ((bucket, _tier_of(org, uid) or "unknown"), (bucket, "all")):
                trend[key][0] += on_time
                trend[key][1] += late
    return s.TimelinessOut(
        period_from=period_from,
        period_to=period_to,
        generated_at=now,
        clock_kinds={k: label for k, (_, label) in CLOCK_KINDS.items()},
        units=unit_rows,
        tiers=tier_rows,
        total=_row("all", "合计", None, total),
        trend=[
            s.TrendPointOut(bucket=b, tier=t, on_time=v[0], late=v[1], on_time_rate=_rate(v[0], v[1]))
            for (b, t), v in sorted(trend.items())
        ],
        overdue=sorted((o for o in overdue if o.unit_id in kept_units), key=lambda o: o.due_at),
    )


def _row(key: str, name: str, tier: str | None, acc: _Acc) -> s.TimelinessRowOut:
    median = percentile(acc.first_response_s, 0.5)
    p90 = percentile(acc.first_response_s, 0.9)
    return s.TimelinessRowOut(
        key=key,
        name=name,
        tier=tier,
        tier_label=_tier_label(tier),
        incidents=acc.incidents,
        clocks={
            k: s.ClockStatsOut(total=sum(v), on_time=v[0], late=v[1], running=v[2], on_time_rate=_rate(v[0], v[1]))
            for k, v in acc.clocks.items()
        },
        first_response_median_s=None if median is None else round(median, 1),
        first_response_p90_s=None if p90 is None else round(p90, 1),
        responded=acc.responded,
        overdue=acc.overdue,
        escalated=len(acc.escalated),
        closed_with_response=acc.closed_with_response,
        closure_rate=round(acc.closed_with_response / acc.eligible, 4) if acc.eligible else None,
        transfers_out=acc.transfers_out,
        transfers_in=acc.transfers_in,
    )


def _unit_name(org: OrgDirectory, unit_id: str) -> str:
    unit = org.units.get(unit_id)
    return unit.name if unit else unit_id


def _tier_of(org: OrgDirectory, unit_id: str) -> str | None:
    unit = org.units.get(unit_id)
    return str(unit.tier) if unit else None


def _tier_label(tier: str | None) -> str | None:
    try:
        return Tier(tier).level_label if tier else None
    except ValueError:
        return None


def _tier_rank(tier: str | None) -> int:
    try:
        return Tier(tier).rank if tier else 9
    except ValueError:
        return 9
