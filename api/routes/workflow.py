"""Workflow commands: one POST per step, each through ``huiyin.responder.workflow.Workflow``.

The API checks that the caller may see the incident (404 otherwise) and is not read-only (403);
the workflow checks the rest (role, unit, stage) and refuses with a Chinese reason, which the API
returns as ``{"detail": reason}`` — 403 for a permission refusal, 409 for a state conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, status

from huiyin.api import schemas as s
from huiyin.api.deps import ActingUser, CtxDep
from huiyin.api.principal import Principal
from huiyin.api.views import incident_detail, load_incident
from huiyin.config.errors import UnknownOrgEntryError, WorkflowError
from huiyin.responder.store.tables import Incident
from huiyin.responder.visibility import can_see

router = APIRouter(prefix="/api/incidents/{incident_id}", tags=["workflow 办理"])

FORBIDDEN_CODES = {"forbidden", "permission", "not_permitted", "unauthorized", "role"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": s.ErrorOut, "description": "请求体无法解析"},
    401: {"model": s.ErrorOut, "description": "未登录"},
    403: {"model": s.ErrorOut, "description": "无权执行（只读账号或非本单位）"},
    404: {"model": s.ErrorOut, "description": "事项不存在或无权查看"},
    409: {"model": s.ErrorOut, "description": "当前状态不允许此操作（原因见 detail）"},
    503: {"model": s.ErrorOut, "description": "数据库暂不可用"},
}


def status_for(error: WorkflowError) -> int:
    """403 for a permission refusal, 404 for an unknown incident, 409 for everything else."""
    if error.code in FORBIDDEN_CODES:
        return status.HTTP_403_FORBIDDEN
    if error.code == "not_found":
        return status.HTTP_404_NOT_FOUND
    return status.HTTP_409_CONFLICT


def require_visible(ctx: CtxDep, user: Principal, incident_id: str, detail: str = "事项不存在或无权查看") -> None:
    """404 unless the incident exists and the user may see it (the same answer for both)."""
    with ctx.db.session() as session:
        inc = session.get(Incident, incident_id)
        if inc is None or not can_see(ctx.org, user, inc):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=detail)


def run(ctx: CtxDep, user: Principal, incident_id: str, command: Callable[[Any, Any], Any]) -> s.IncidentDetailOut:
    """Check visibility, run ``command(workflow, actor)``, return the incident as it is now."""
    require_visible(ctx, user, incident_id)
    try:
        command(ctx.workflow, user.actor())
    except WorkflowError as exc:
        raise HTTPException(status_for(exc), detail=exc.reason) from None
    except UnknownOrgEntryError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc).strip("'\"")) from None
    with ctx.db.session() as session:
        inc = load_incident(session, incident_id)
        if inc is None:  # merged away and gone: should not happen, rows are never deleted
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="事项不存在")
        return incident_detail(session, ctx.org, inc, user, ctx.clock())


def _post(path: str, summary: str):  # noqa: ANN202 - a decorator factory
    return router.post(path, response_model=s.IncidentDetailOut, responses=_ERRORS, summary=summary)


@_post("/assess", "研判：确认或更正领域、严重程度、责任单位、地点")
def assess(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.AssessIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.assess(
        incident_id, actor, field_id=body.field_id, severity=body.severity, unit_id=body.unit_id,
        place=body.place, reason=body.reason))


@_post("/dismiss", "排除：不属于政务舆情")
def dismiss(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.ReasonIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.dismiss(incident_id, actor, reason=body.reason))


@_post("/regrade", "调整严重程度（时限从原起点按新等级重算）")
def regrade(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.RegradeIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.regrade(
        incident_id, actor, severity=body.severity, reason=body.reason))


@_post("/reroute", "改派责任单位")
def reroute(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.RerouteIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.reroute(
        incident_id, actor, unit_id=body.unit_id, reason=body.reason))


@_post("/consult", "会商：参会单位、会商结论、牵头单位")
def consult(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.ConsultIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.consult(
        incident_id, actor, participants=list(body.participants), decision=body.decision,
        lead_unit_id=body.lead_unit_id))


@_post("/accept", "签收（进入处置）")
def accept(ctx: CtxDep, user: ActingUser, incident_id: str) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.accept(incident_id, actor))


@_post("/transfer", "转办（须接收单位确认）")
def transfer(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.TransferIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.transfer(
        incident_id, actor, to_unit_id=body.to_unit_id, reason=body.reason))


@_post("/transfer/accept", "接收转办")
def accept_transfer(ctx: CtxDep, user: ActingUser, incident_id: str) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.accept_transfer(incident_id, actor))


@_post("/transfer/reject", "退回转办")
def reject_transfer(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.ReasonIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.reject_transfer(incident_id, actor, reason=body.reason))


@_post("/handling", "记录处置措施")
def handling(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.HandlingIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.record_handling(incident_id, actor, action=body.action))


@_post("/responses", "记录回应（发布渠道、时间、链接、内容）")
def responses(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.ResponseIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.record_response(
        incident_id, actor, channel=body.channel, content=body.content, published_at=body.published_at,
        link=body.link, kind=body.kind))


@_post("/evaluate", "评估处置效果（办结）")
def evaluate(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.EvaluateIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.evaluate(
        incident_id, actor, effect=body.effect, score=body.score))


@_post("/reopen", "重新打开")
def reopen(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.ReasonIn) -> s.IncidentDetailOut:
    return run(ctx, user, incident_id, lambda wf, actor: wf.reopen(incident_id, actor, reason=body.reason))


@_post("/merge", "合并到另一事项")
def merge(ctx: CtxDep, user: ActingUser, incident_id: str, body: s.MergeIn) -> s.IncidentDetailOut:
    require_visible(ctx, user, incident_id)
    require_visible(ctx, user, body.into_id, "目标事项不存在或无权查看")
    return run(ctx, user, incident_id, lambda wf, actor: wf.merge(
        incident_id, actor, into_id=body.into_id, reason=body.reason))
