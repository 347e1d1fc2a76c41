"""研判 and the publicity office's other decisions: assess, dismiss, regrade, reroute, merge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from huiyin.responder import deadlines
from huiyin.responder.actor import Actor
from huiyin.responder.clocks import SEVERITIES
from huiyin.responder.rules import (
    ASSESS, COLLECT, CONSULT, HANDLE, RESPOND, consult_required, refuse, require_coordinator,
    require_no_pending_transfer, require_open, require_stage, require_text, require_unit,
)
from huiyin.responder.store.tables import Incident, Post, StageEvent
from huiyin.responder.visibility import can_see, jurisdiction_path
from huiyin.responder.workflow.core import Change, WorkflowCore


class AssessmentCommands(WorkflowCore):
    """Commands of the publicity office before (and around) handling."""

    def assess(self, incident_id: str, actor: Actor, *, field_id: str | None = None, severity: str | None = None,
               unit_id: str | None = None, place: dict[str, Any] | None = None, reason: str = "") -> Incident:
        """研判: confirm the router's proposal, or correct field, place, severity and unit."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_coordinator(actor, "研判")
            require_stage(inc, (COLLECT, ASSESS), "研判")
            require_no_pending_transfer(inc, "研判")
            corrected: dict[str, Any] = {}
            if field_id is not None and field_id != inc.field_id:
                if field_id not in self.org.fields:
                    raise refuse(f"领域“{field_id}”不在组织目录中", "invalid")
                corrected["field_id"] = [inc.field_id, field_id]
                inc.field_id = field_id
            if severity is not None and severity != inc.severity:
                if severity not in SEVERITIES:
                    raise refuse(f"严重程度只能是{'、'.join(SEVERITIES)}", "invalid")
                corrected["severity"] = [inc.severity, severity]
                inc.severity = severity
            if place is not None:
                jid = place.get("jurisdiction_id")
                if not jid or jid not in self.org.jurisdictions:
                    raise refuse(f"地点的行政区划“{jid}”不在组织目录中", "invalid")
                corrected["place"] = [inc.place, place]
                inc.place, inc.jurisdiction_id = dict(place), jid
                inc.jurisdiction_path = jurisdiction_path(self.org, jid)
                if not can_see(self.org, actor, inc):
                    raise refuse("改正后的地点不在本单位辖区内，请交上级宣传部门研判", "forbidden")
            if unit_id is not None and unit_id != inc.unit_id:
                require_unit(self.org, unit_id, "承办单位")
                corrected["unit_id"] = [inc.unit_id, unit_id]
                self._hand_to(inc, unit_id)
            if corrected.keys() & {"unit_id", "field_id", "severity", "place"}:
                self._decision(inc, actor, now, "assessment", [f"研判改正：{', '.join(corrected)}"] +
                               ([reason.strip()] if reason.strip() else []))
            added, cancelled = deadlines.replan(session, self.ctx.clocks, inc)
            inc.stage, inc.needs_review = ASSESS, False
            return Change("assessed", reason.strip() or ("确认" if not corrected else "改正"),
                          {"corrected": corrected, "clocks_added": added, "clocks_cancelled": cancelled,
                           "consult_required": consult_required(inc)})

        return self._run(incident_id, actor, command)

    def dismiss(self, incident_id: str, actor: Actor, *, reason: str) -> Incident:
        """Not a 政务舆情: close without handling; the clocks stop."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_coordinator(actor, "排除")
            require_stage(inc, (COLLECT, ASSESS), "排除")
            why = require_text(reason, "排除理由")
            inc.status, inc.resolution, inc.pending_transfer_to = "closed", "dismissed", None
            return Change("dismissed", why, {"clocks_cancelled": deadlines.cancel_open(inc)})

        return self._run(incident_id, actor, command)

    def regrade(self, incident_id: str, actor: Actor, *, severity: str, reason: str) -> Incident:
        """Change the severity; stricter clocks start from the original start, not from now."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_coordinator(actor, "调整严重程度")
            require_open(inc, "调整严重程度")
            why = require_text(reason, "调整理由")
            if severity not in SEVERITIES:
                raise refuse(f"严重程度只能是{'、'.join(SEVERITIES)}", "invalid")
            if severity == inc.severity:
                raise refuse(f"事件已是“{severity}”", "invalid")
            old, inc.severity = inc.severity, severity
            added, cancelled = deadlines.replan(session, self.ctx.clocks, inc)
            self._decision(inc, actor, now, "regrade", [f"严重程度 {old or '未定'} → {severity}", why])
            return Change("regraded", why, {"severity": [old, severity], "clocks_added": added,
                                            "clocks_cancelled": cancelled})

        return self._run(incident_id, actor, command)

    def reroute(self, incident_id: str, actor: Actor, *, unit_id: str, reason: str) -> Incident:
        """Send the matter to another unit before it is accepted (publicity offices)."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_coordinator(actor, "改派")
            if inc.stage in (HANDLE, RESPOND):
                require_open(inc, "改派")
                raise refuse("承办单位已受理，改派请由承办单位发起转办", "stage")
            require_stage(inc, (COLLECT, ASSESS, CONSULT), "改派")
            require_no_pending_transfer(inc, "改派")
            why = require_text(reason, "改派理由")
            target = require_unit(self.org, unit_id, "承办单位")
            if target == inc.unit_id:
                raise refuse("事件已由该单位承办", "invalid")
            old = inc.unit_id
            self._hand_to(inc, target)
            self._decision(inc, actor, now, "reroute", [f"改派：{self._unit_name(old)} → {self._unit_name(target)}", why])
            return Change("rerouted", why, {"unit_id": [old, target]})

        return self._run(incident_id, actor, command)

    def merge(self, incident_id: str, actor: Actor, *, into_id: str, reason: str) -> Incident:
        """Merge a duplicate into another incident: its posts move there and its clocks stop."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_coordinator(actor, "合并")
            require_open(inc, "合并")
            why = require_text(reason, "合并理由")
            if into_id == inc.id:
                raise refuse("不能把事件合并到自身", "invalid")
            target = session.execute(select(Incident).where(Incident.id == into_id)).scalar_one_or_none()
            if target is None:
                raise refuse(f"目标事件 {into_id} 不存在", "not_found")
            if not can_see(self.org, actor, target):
                raise refuse(f"目标事件 {into_id} 不在本单位辖区范围内", "forbidden")
            require_open(target, "接收合并")
            moved = session.execute(
                update(Post).where(Post.incident_id == inc.id).values(incident_id=target.id)
                .execution_options(synchronize_session=False)
            ).rowcount
            target.post_count = Incident.post_count + inc.post_count
            target.repost_count = Incident.repost_count + inc.repost_count
            target.heat = Incident.heat + inc.heat
            target.version = Incident.version + 1
            if inc.unit_id != target.unit_id and inc.unit_id not in (target.co_unit_ids or []):
                target.co_unit_ids = [*(target.co_unit_ids or []), inc.unit_id]
            cancelled = deadlines.cancel_open(inc)
            inc.status, inc.resolution, inc.merged_into, inc.pending_transfer_to = "merged", "merged", target.id, None
            session.add(StageEvent(incident_id=target.id, at=now, actor=actor.username, unit_id=actor.unit_id,
                                   kind="merged_in", from_stage=target.stage, to_stage=target.stage, reason=why,
                                   payload={"merged_from": inc.id, "posts": moved}))
            session.flush()
            session.refresh(target)
            return Change("merged", why, {"into_id": target.id, "posts_moved": moved, "clocks_cancelled": cancelled},
                          also=[target])

        return self._run(incident_id, actor, command)
