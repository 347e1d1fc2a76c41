"""API schemas: what goes over HTTP. Built from table rows by ``huiyin.api.views``, never the rows.

Names follow the template's habit: ``…In`` for request bodies, ``…Out`` for responses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

Role = Literal["publicity", "unit", "leader", "admin"]
Severity = Literal["特别重大", "重大", "较大", "一般"]
Stage = Literal["收集", "研判", "会商", "处置", "回应", "评估"]
Status = Literal["open", "closed", "merged"]
Channel = Literal["website", "new_media", "press_conference", "media_interview"]
ResponseKind = Literal["response", "authoritative_info", "press_conference", "clarification"]

SEVERITIES: tuple[str, ...] = ("特别重大", "重大", "较大", "一般")
ROLES: tuple[str, ...] = ("publicity", "unit", "leader", "admin")



def _iso_only(value: Any) -> Any:
    """Times are ISO 8601 text (``2026-03-05T08:00:00+08:00``); numbers are not taken as epochs."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("须为 ISO 8601 时间，例如 2026-03-05T08:00:00+08:00")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("须为 ISO 8601 时间，例如 2026-03-05T08:00:00+08:00") from None


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
UnitId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="单位编号")]
IncidentId = Annotated[str, Field(min_length=1, max_length=64, description="事项编号")]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Reason = Annotated[str, Field(min_length=1, max_length=1000, description="理由（必填）")]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=False)


class _In(BaseModel):
    # Blank text passes here and is refused by the workflow with its reason (409), as the schema allows it.
    model_config = ConfigDict(extra="forbid")


# -- errors, auth, users ---------------------------------------------------------------------
class ErrorOut(_Out):
    """Every refusal: ``detail`` is a user-facing Chinese sentence."""

    detail: str


class TokenOut(_Out):
    """OAuth2 password flow answer."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserOut(_Out):
    """A user as others see it (never the password hash)."""

    username: str
    role: Role
    unit_id: str
    unit_name: str
    jurisdiction_id: str
    jurisdiction_name: str
    display_name: str | None = None
    active: bool = True


class UserCreateIn(_In):
    """An account to create (admin only)."""

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    unit_id: UnitId
    role: Role
    display_name: str | None = Field(None, max_length=100)


class UserUpdateIn(_In):
    """Changes to an account (admin only); omitted fields stay."""

    role: Role | None = None
    unit_id: UnitId | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=256)
    display_name: str | None = Field(None, max_length=100)


# -- incidents ---------------------------------------------------------------------------------
class ClockOut(_Out):
    """One legal clock and how much time is left on it (negative: overdue)."""

    rule: str
    label: str
    unit_id: str
    starts_at: datetime
    due_at: datetime
    warn_at: datetime | None = None
    status: str  # open | met | missed | cancelled
    met_at: datetime | None = None
    missed_at: datetime | None = None
    seconds_left: float | None = Field(None, description="距截止秒数（仅未完成的时限；负数为已超时）")
    overdue: bool = False


class TransferOut(_Out):
    """A 转办 waiting for the receiving unit."""

    to_unit_id: str
    to_unit_name: str
    from_unit_id: str | None = None
    reason: str | None = None
    at: datetime | None = None


class IncidentOut(_Out):
    """An incident as listed in a queue or inbox."""

    id: str
    title: str
    summary: str
    stage: str
    status: str
    severity: str | None
    field_id: str | None
    field_name: str | None
    place: dict[str, Any]
    place_name: str
    jurisdiction_id: str
    unit_id: str
    unit_name: str
    unit_tier: str | None
    lead_unit_id: str | None
    lead_unit_name: str | None
    co_unit_ids: list[str]
    needs_review: bool
    event_at: datetime | None
    detected_at: datetime
    updated_at: datetime
    post_count: int
    heat: float
    routing_rule: str | None
    routing_reasons: list[str]
    clocks: list[ClockOut]
    next_due_at: datetime | None = Field(None, description="最近一个未完成时限的截止时间")
    seconds_left: float | None = None
    pending_transfer: TransferOut | None = None
    merged_into: str | None = None


class IncidentListOut(_Out):
    """A page of incidents, most urgent first, with the server's clock for countdowns."""

    items: list[IncidentOut]
    total: int
    now: datetime


class PostOut(_Out):
    """A collected post. ``text`` is plain text; the dashboard shows it escaped."""

    id: str
    source: str
    url: str | None
    channel: str | None
    title: str | None
    text: str
    author: str | None
    published_at: datetime | None
    fetched_at: datetime
    likes: int
    reposts: int
    comments: int
    reply_text: str | None
    reply_at: datetime | None


class RoutingOut(_Out):
    """A routing decision: which rule, which place, which field, which tier, and why."""

    id: int
    unit_id: str
    unit_name: str
    unit_tier: str | None
    lead_unit_id: str | None
    co_unit_ids: list[str]
    rule: str
    reasons: list[str]
    field_id: str | None
    field_name: str | None
    severity: str | None
    place: dict[str, Any]
    confidence: float | None
    decided_by: str
    decided_at: datetime
    current: bool


class TimelineOut(_Out):
    """One entry of the timeline."""

    at: datetime
    actor: str
    unit_id: str | None
    kind: str
    from_stage: str | None
    to_stage: str | None
    reason: str | None
    payload: dict[str, Any]


class ResponseOut(_Out):
    """A published response."""

    id: int
    unit_id: str
    kind: str
    channel: str
    published_at: datetime
    link: str | None
    content: str
    recorded_by: str
    recorded_at: datetime


class EscalationOut(_Out):
    """A warning or miss raised up the chain."""

    kind: str
    from_unit_id: str
    to_unit_ids: list[str]
    at: datetime
    note: str


class IncidentDetailOut(IncidentOut):
    """Everything about one incident."""

    posts: list[PostOut]
    decisions: list[RoutingOut]
    timeline: list[TimelineOut]
    responses: list[ResponseOut]
    escalations: list[EscalationOut]
    actions: list[str] = Field(description="当前用户可以执行的命令")
    now: datetime


# -- workflow command bodies ---------------------------------------------------------------------
class AssessIn(_In):
    """研判: confirm the router's decision or correct it."""

    field_id: str | None = Field(None, max_length=64)
    severity: Severity | None = None
    unit_id: UnitId | None = None
    place: dict[str, str | None] | None = None
    reason: str = Field("", max_length=1000)


class ReasonIn(_In):
    """A command that needs only a reason (dismiss, reject a transfer, reopen)."""

    reason: Reason


class RegradeIn(_In):
    severity: Severity
    reason: Reason


class RerouteIn(_In):
    unit_id: UnitId
    reason: Reason


class ConsultIn(_In):
    """会商: who took part, what was decided, who leads."""

    participants: list[str] = Field(min_length=1, max_length=50)
    decision: Text
    lead_unit_id: UnitId


class TransferIn(_In):
    to_unit_id: UnitId
    reason: Reason


class HandlingIn(_In):
    action: Text


class ResponseIn(_In):
    """回应: what was published, where and when."""

    channel: Channel
    content: str = Field(min_length=1, max_length=20000)
    kind: ResponseKind = "response"
    published_at: IsoDatetime | None = Field(None, description="发布时间（带时区）；空为现在")
    link: str | None = Field(None, max_length=2000, pattern=r"^https?://")


class EvaluateIn(_In):
    effect: Text
    score: int | None = Field(None, ge=0, le=100)


class MergeIn(_In):
    into_id: IncidentId
    reason: Reason


# -- org directory --------------------------------------------------------------------------------
class JurisdictionOut(_Out):
    id: str
    name: str
    full_name: str
    tier: str
    tier_label: str
    parent_id: str | None


class UnitOut(_Out):
    id: str
    name: str
    kind: str
    jurisdiction_id: str
    jurisdiction_name: str
    tier: str
    tier_label: str
    department_type: str | None
    fields: list[str]


class FieldOut(_Out):
    id: str
    name: str
    pilot: bool
    department_type: str


class OrgSearchOut(_Out):
    """Matches of a directory search."""

    jurisdictions: list[JurisdictionOut]
    units: list[UnitOut]
    fields: list[FieldOut]


# -- reports -----------------------------------------------------------------------------------------
class ClockStatsOut(_Out):
    """How one kind of clock went: met on time, late (met late, missed or overdue), still running."""

    total: int
    on_time: int
    late: int
    running: int
    on_time_rate: float | None = Field(None, description="按时率 = 按时 / (按时 + 超时)；无已到期时限时为空")


class TimelinessRowOut(_Out):
    """Figures of one unit (or one tier) for the period."""

    key: str
    name: str
    tier: str | None
    tier_label: str | None
    incidents: int
    clocks: dict[str, ClockStatsOut]
    first_response_median_s: float | None
    first_response_p90_s: float | None
    responded: int
    overdue: int
    escalated: int
    closed_with_response: int
    closure_rate: float | None = Field(None, description="事事有回音：已回应并办结 / 应回应事项")
    transfers_out: int
    transfers_in: int


class TrendPointOut(_Out):
    """On-time rate of every clock kind for one tier in one bucket (day or week)."""

    bucket: str
    tier: str
    on_time: int
    late: int
    on_time_rate: float | None


class OverdueItemOut(_Out):
    incident_id: str
    title: str
    unit_id: str
    unit_name: str
    rule: str
    label: str
    due_at: datetime
    status: str
    answered_at: datetime | None = Field(None, description="迟到的回应时间（尚未回应为空）")
    overdue_s: float = Field(description="超时秒数：到迟到的回应为止，未回应则到现在")


class TimelinessOut(_Out):
    """The leader's timeliness report."""

    period_from: datetime
    period_to: datetime
    generated_at: datetime
    clock_kinds: dict[str, str] = Field(description="时限类别 → 中文名")
    units: list[TimelinessRowOut]
    tiers: list[TimelinessRowOut]
    total: TimelinessRowOut
    trend: list[TrendPointOut]
    overdue: list[OverdueItemOut]


# -- health ------------------------------------------------------------------------------------------
class HealthOut(_Out):
    status: Literal["ok", "degraded"]
    database: str
    bus: str
    stream: str
    version: str
