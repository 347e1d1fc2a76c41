"""Timeliness reports for leaders: JSON for the dashboard, an .xlsx workbook for export.

Everyone gets the report over the incidents they may see (a unit's user: its own incidents).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Response, status

from huiyin.api import schemas as s
from huiyin.api.deps import CtxDep, CurrentUser, SessionDep
from huiyin.api.export import XLSX_MEDIA_TYPE, timeliness_xlsx
from huiyin.api.reports import timeliness
from huiyin.responder.visibility import visible_filter
from huiyin.config.org import Tier

router = APIRouter(prefix="/api/reports", tags=["reports 时效报表"])
_ERRORS = {400: {"model": s.ErrorOut, "description": "统计区间无效"}, 401: {"model": s.ErrorOut, "description": "未登录"}}
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366

FromQ = Annotated[s.IsoDatetime | None, Query(alias="from", description="起（含，带时区）；默认 30 天前")]
ToQ = Annotated[s.IsoDatetime | None, Query(description="止（不含，带时区）；默认现在")]
TierQ = Annotated[Tier | None, Query(description="只看该层级的单位")]
UnitQ = Annotated[str | None, Query(max_length=64, description="只看该单位")]


def _report(ctx: CtxDep, session: SessionDep, user: CurrentUser, from_: datetime | None, to: datetime | None,
            tier: Tier | None, unit: str | None) -> s.TimelinessOut:
    now = ctx.clock()
    to = to or now
    from_ = from_ or to - timedelta(days=DEFAULT_DAYS)
    if from_ >= to:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="统计区间的起点须早于终点")
    if to - from_ > timedelta(days=MAX_DAYS):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="统计区间不能超过三年")
    return timeliness(
        session, ctx.org, visible_filter(ctx.org, user), period_from=from_, period_to=to, now=now,
        timezone=ctx.settings.timezone, tier=str(tier) if tier else None, unit_id=unit or None,
    )


@router.get("/timeliness", response_model=s.TimelinessOut, responses=_ERRORS,
            summary="回应时效：各单位、各层级按时率、首次回应用时、超时、升级、办结率、转办")
def timeliness_json(ctx: CtxDep, session: SessionDep, user: CurrentUser, from_: FromQ = None, to: ToQ = None,
                    tier: TierQ = None, unit: UnitQ = None) -> s.TimelinessOut:
    return _report(ctx, session, user, from_, to, tier, unit)


@router.get(
    "/timeliness.xlsx",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
                                "description": "Excel 报表"}},
    summary="导出回应时效报表（Excel）",
)
def timeliness_export(ctx: CtxDep, session: SessionDep, user: CurrentUser, from_: FromQ = None, to: ToQ = None,
                      tier: TierQ = None, unit: UnitQ = None) -> Response:
    report = _report(ctx, session, user, from_, to, tier, unit)
    body = timeliness_xlsx(report, ctx.settings.timezone)
    name = f"回应时效_{report.period_from:%Y%m%d}-{report.period_to:%Y%m%d}.xlsx"
    return Response(
        body, media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename=\"timeliness.xlsx\"; filename*=UTF-8''{quote(name)}"},
    )
