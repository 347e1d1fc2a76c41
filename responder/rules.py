"""The workflow's rules: stages, who may act, and the refusals (reasons in Chinese for users).

Stages of 002 §三(三): 收集 → 研判 → 会商 → 处置 → 回应 → 评估. 会商 is required for multi-unit
matters (co-handling units) and for 较大 and above (004 §二(三)1 重大舆情会商联席会议制度);
otherwise 研判 → 处置 directly. Leaders only read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from huiyin.config.errors import WorkflowError
from huiyin.config.org import OrgDirectory
from huiyin.responder.clocks import severity_rank
from huiyin.responder.store.tables import Incident
from huiyin.responder.visibility import can_see

if TYPE_CHECKING:
    from huiyin.responder.actor import Actor

COLLECT, ASSESS, CONSULT, HANDLE, RESPOND, EVALUATE = "收集", "研判", "会商", "处置", "回应", "评估"
STAGES = (COLLECT, ASSESS, CONSULT, HANDLE, RESPOND, EVALUATE)
ROLES = ("publicity", "unit", "leader", "admin", "system")
COORDINATORS = ("publicity", "admin", "system")  # may assess, route, call a 会商, dismiss, merge
_STATUS_LABEL = {"closed": "已办结或已排除", "merged": "已合并到其他事件"}


def consult_required(incident: Incident) -> bool:
    """会商 is required for several units or severity 较大 and above."""
    return bool(incident.co_unit_ids) or severity_rank(incident.severity) <= severity_rank("较大")


def refuse(reason: str, code: str = "refused") -> WorkflowError:
    """A refusal to raise: nothing has changed."""
    return WorkflowError(reason, code=code)


def check_actor(org: OrgDirectory, actor: Actor, incident: Incident) -> None:
    """Every command: a known role, not a leader, and the incident within the actor's view."""
    if actor.role not in ROLES:
        raise refuse(f"未知的角色“{actor.role}”", "forbidden")
    if actor.role == "leader":
        raise refuse("领导账号只能查看，不能办理事件", "forbidden")
    if not can_see(org, actor, incident):
        raise refuse(f"事件 {incident.id} 不在本单位（{actor.unit_id}）的职责或辖区范围内，无权操作", "forbidden")


def require_open(incident: Incident, what: str) -> None:
    if incident.status != "open":
        raise refuse(f"事件{_STATUS_LABEL.get(incident.status, incident.status)}，不能{what}", "conflict")


def require_stage(incident: Incident, allowed: Iterable[str], what: str) -> None:
    """Refuse a skipped or past stage, naming the stages the command needs."""
    require_open(incident, what)
    allowed = tuple(allowed)
    if incident.stage not in allowed:
        hint = "，请先完成研判" if incident.stage == COLLECT else ""
        raise refuse(
            f"事件当前处于“{incident.stage}”阶段，不能{what}（只能在“{'、'.join(allowed)}”阶段进行）{hint}", "stage"
        )


def require_coordinator(actor: Actor, what: str) -> None:
    """Assessment, routing, 会商, dismissal and merging belong to publicity offices."""
    if actor.role not in COORDINATORS:
        raise refuse(f"{what}由宣传部门负责，承办单位不能{what}", "forbidden")


def require_holder(actor: Actor, incident: Incident, what: str, *, coordinators: bool = True) -> None:
    """Only the unit holding the incident (or, if allowed, a coordinator) may do ``what``."""
    if actor.unit_id == incident.unit_id:
        return
    if coordinators and actor.role in COORDINATORS:
        return
    if actor.role == "admin":
        return
    raise refuse(f"本单位（{actor.unit_id}）不是该事件的承办单位（{incident.unit_id}），不能{what}", "forbidden")


def require_no_pending_transfer(incident: Incident, what: str) -> None:
    if incident.pending_transfer_to:
        raise refuse(f"事件正在转办给 {incident.pending_transfer_to}，等待对方接收，暂不能{what}", "conflict")


def require_text(value: str | None, label: str) -> str:
    """A non-blank text (reason, content, decision...)."""
    text = (value or "").strip()
    if not text:
        raise refuse(f"{label}不能为空", "invalid")
    return text


def require_unit(org: OrgDirectory, unit_id: str | None, label: str = "单位") -> str:
    if not unit_id or unit_id not in org.units:
        raise refuse(f"{label}“{unit_id}”不在组织目录中", "invalid")
    return unit_id
