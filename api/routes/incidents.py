"""Reading incidents: the caller's queue or inbox, and one incident in full."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from huiyin.api import schemas as s
from huiyin.api.deps import CtxDep, CurrentUser, SessionDep
from huiyin.responder.visibility import can_see, visible_filter
from huiyin.api.views import IncidentFilters, incident_detail, list_incidents, load_incident

router = APIRouter(prefix="/api/incidents", tags=["incidents 事项"])

NOT_FOUND = {404: {"model": s.ErrorOut, "description": "事项不存在或无权查看"}}
AUTH = {401: {"model": s.ErrorOut, "description": "未登录"}}


@router.get("", response_model=s.IncidentListOut, responses=AUTH,
            summary="事项列表（仅本人可见范围；按严重程度与剩余时限排序）")
def get_incidents(
    ctx: CtxDep,
    session: SessionDep,
    user: CurrentUser,
    stage: Annotated[s.Stage | None, Query(description="阶段")] = None,
    severity: Annotated[s.Severity | None, Query(description="严重程度")] = None,
    status_: Annotated[s.Status | None, Query(alias="status", description="open | closed | merged")] = None,
    unit: Annotated[str | None, Query(max_length=64, description="责任单位编号")] = None,
    field: Annotated[str | None, Query(max_length=64, description="领域编号")] = None,
    from_: Annotated[s.IsoDatetime | None, Query(alias="from", description="发现时间起（含，带时区）")] = None,
    to: Annotated[s.IsoDatetime | None, Query(description="发现时间止（不含，带时区）")] = None,
    q: Annotated[str | None, Query(max_length=100, description="标题或摘要包含")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> s.IncidentListOut:
    filters = IncidentFilters(
        stage=stage, severity=severity, status=status_, unit_id=unit or None, field_id=field or None,
        detected_from=from_, detected_to=to, q=q or None,
    )
    return list_incidents(
        session, ctx.org, visible_filter(ctx.org, user), filters, now=ctx.clock(), limit=limit, offset=offset
    )


@router.get("/{incident_id}", response_model=s.IncidentDetailOut, responses={**AUTH, **NOT_FOUND},
            summary="事项详情：帖文、派单理由、时限、时间线")
def get_incident(ctx: CtxDep, session: SessionDep, user: CurrentUser, incident_id: str) -> s.IncidentDetailOut:
    inc = load_incident(session, incident_id)
    if inc is None or not can_see(ctx.org, user, inc):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="事项不存在或无权查看")
    return incident_detail(session, ctx.org, inc, user, ctx.clock())
