"""The incident state machine: the only code that changes an incident's stage.

Every command checks the actor and the stage, then writes in one transaction the incident, a
StageEvent, its own records (transfer, 会商, response...) and the audit records; after the commit
it publishes one IncidentEvent (type = the command's event: assessed, dismissed, regraded,
rerouted, consulted, accepted, transfer_requested, transferred, transfer_rejected, handling,
response, evaluated, reopened, merged; ``data`` carries from_stage/to_stage). A refused command
raises WorkflowError with a Chinese reason and changes nothing.

Concurrent commands on one incident: the incident's ``version`` is bumped with a compare-and-set
as the first write, so a command never acts on a state someone else has just changed; if the
state did change in between (another command, a newly attached post), the command runs again on
the fresh state (on PostgreSQL the row is also locked FOR UPDATE while the command runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from huiyin.config.errors import WorkflowError
from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings
from huiyin.responder import audit, deadlines
from huiyin.responder.audit import AuditEntry
from huiyin.responder.bus.base import Bus
from huiyin.responder.clocks import RESPONSE_CHANNELS, RESPONSE_KINDS, SEVERITIES
from huiyin.responder.context import Context
from huiyin.responder.escalation import Outcome
from huiyin.responder.events import incident_event, publish
from huiyin.responder.rules import (
    ASSESS, COLLECT, CONSULT, EVALUATE, HANDLE, RESPOND,
    check_actor, consult_required, refuse, require_coordinator, require_holder, require_no_pending_transfer,
    require_open, require_stage, require_text, require_unit,
)
from huiyin.responder.store.db import Database
from huiyin.responder.store.tables import (
    Consultation, Incident, Post, Response, RoutingDecision, StageEvent, Transfer,
)
from huiyin.responder.store.types import utcnow
from huiyin.responder.visibility import can_see, jurisdiction_path

_FUTURE_SKEW = timedelta(minutes=5)  # a response "published" later than now is a typo, not a fact
_ATTEMPTS = 5


class _Changed(Exception):
    """The incident changed between reading and claiming it: run the command again."""


@dataclass(frozen=True)
class Actor:
    """Who acts; the API builds it from the logged-in user."""

    username: str
    unit_id: str
    role: str  # "publicity" | "unit" | "leader" | "admin" | "system"


@dataclass
class Change:
    """What a command did, for the timeline, the audit trail and the event."""

    action: str  # audit action and event type
    reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None  # StageEvent kind (default: "stage" if the stage moved, else the action)
    extra: Outcome = field(default_factory=Outcome)  # escalations caused by the command (late responses)
    also: list[Incident] = field(default_factory=list)  # other incidents changed (merge target)


class Workflow:
    """Commands on incidents. Each returns the updated Incident (detached, deadlines loaded)."""

    def __init__(self, db: Database, org: OrgDirectory, settings: Settings, bus: Bus | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.org = org
        self.settings = settings
        self.bus = bus
        self.clock = clock or utcnow
        self.ctx = Context.from_settings(settings, org)

    # -- plumbing -------------------------------------------------------------------------------
    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the workflow clock returned a naive datetime")
        return now.astimezone(UTC)

    def _load(self, session: Session, incident_id: str) -> Incident:
        query = select(Incident).where(Incident.id == incident_id).options(selectinload(Incident.deadlines))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=Incident)
        incident = session.execute(query).scalar_one_or_none()
        if incident is None:
            raise refuse(f"事件 {incident_id} 不存在", "not_found")
        return incident

    def _claim(self, session: Session, incident: Incident) -> None:
        """Compare-and-set the version: the first write, which also takes SQLite's write lock."""
        done = session.execute(
            update(Incident).where(Incident.id == incident.id, Incident.version == incident.version)
            .values(version=incident.version + 1).execution_options(synchronize_session=False)
        ).rowcount
        if done != 1:
            raise _Changed()
        set_committed_value(incident, "version", incident.version + 1)

    def _run(self, incident_id: str, actor: Actor, command: Callable[[Session, Incident, datetime], Change]) -> Incident:
        # Posts keep arriving (the stage bumps the version): a command that raced one simply runs again.
        for _ in range(_ATTEMPTS):
            try:
                return self._run_once(incident_id, actor, command)
            except _Changed:
                continue
        raise refuse("事件正在被频繁修改，请稍后重试", "conflict")

    def _run_once(self, incident_id: str, actor: Actor,
                  command: Callable[[Session, Incident, datetime], Change]) -> Incident:
        now = self._now()
        with self.db.transaction() as session:
            incident = self._load(session, incident_id)
            check_actor(self.org, actor, incident)
            self._claim(session, incident)
            before = incident.stage
            change = command(session, incident, now)
            incident.updated_at = now
            moved = incident.stage != before
            payload = {**change.payload, "from_stage": before, "to_stage": incident.stage, "status": incident.status}
            session.add(StageEvent(
                incident_id=incident.id, at=now, actor=actor.username, unit_id=actor.unit_id,
                kind=change.kind or ("stage" if moved else change.action), from_stage=before,
                to_stage=incident.stage, reason=change.reason, payload=payload,
            ))
            for other in change.also:
                other.updated_at = now
            who = {"role": actor.role, "unit_id": actor.unit_id}
            entries = [AuditEntry(actor.username, change.action, "incident", incident.id, now, change.reason,
                                  {**payload, **who})]
            entries += [AuditEntry(actor.username, f"{change.action}_into", "incident", o.id, now, change.reason,
                                   {"from_incident": incident.id, **who}) for o in change.also]
            events = [incident_event(incident, change.action, actor=actor.username, at=now, data=payload)]
            events += [incident_event(o, change.action, actor=actor.username, at=now,
                                      data={**payload, "merged_from": incident.id}) for o in change.also]
            audit.append(session, [*entries, *change.extra.audits])
            session.flush()
            _ = incident.deadlines  # loaded before the session closes: callers read them detached
        publish(self.bus, self.ctx.events_topic, [*events, *change.extra.events])
        return incident

    def _unit_name(self, unit_id: str) -> str:
        unit = self.org.units.get(unit_id)
        return unit.name if unit else unit_id

    def _decision(self, incident: Incident, actor: Actor, now: datetime, rule: str, reasons: list[str]) -> None:
        for old in incident.decisions:
            old.current = False
        incident.decisions.append(RoutingDecision(
            incident_id=incident.id, unit_id=incident.unit_id, lead_unit_id=incident.lead_unit_id,
            co_unit_ids=list(incident.co_unit_ids or []), rule=rule, reasons=reasons, field_id=incident.field_id,
            severity=incident.severity, place=dict(incident.place or {}), decided_by=actor.username, decided_at=now,
        ))

    def _hand_to(self, incident: Incident, unit_id: str) -> None:
        if incident.lead_unit_id == incident.unit_id:
            incident.lead_unit_id = unit_id
        incident.unit_id = unit_id
        deadlines.reassign(incident, unit_id)

    # -- 研判 --------------------------------------------------------------------------------------
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

    # -- 会商 --------------------------------------------------------------------------------------
    def consult(self, incident_id: str, actor: Actor, *, participants: list[str], decision: str,
                lead_unit_id: str) -> Incident:
        """会商: record participants, decision and lead unit; the lead unit then holds the matter."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_coordinator(actor, "会商")
            require_stage(inc, (ASSESS, CONSULT), "会商")
            require_no_pending_transfer(inc, "会商")
            who = [p.strip() for p in participants if p and p.strip()]
            if not who:
                raise refuse("会商参加单位不能为空", "invalid")
            text = require_text(decision, "会商决定")
            lead = require_unit(self.org, lead_unit_id, "牵头单位")
            session.add(Consultation(incident_id=inc.id, participants=who, decision=text, lead_unit_id=lead,
                                     recorded_by=actor.username, at=now))
            co = [u for u in dict.fromkeys([*(inc.co_unit_ids or []), inc.unit_id, *who])
                  if u in self.org.units and u != lead]
            old = inc.unit_id
            inc.co_unit_ids, inc.lead_unit_id = co, lead
            if lead != old:
                inc.unit_id = lead
                deadlines.reassign(inc, lead)
            self._decision(inc, actor, now, "consultation", [f"会商决定：{text}", f"牵头单位：{self._unit_name(lead)}"])
            inc.stage = CONSULT
            return Change("consulted", text, {"participants": who, "decision": text, "lead_unit_id": lead,
                                              "co_unit_ids": co})

        return self._run(incident_id, actor, command)

    # -- 处置 --------------------------------------------------------------------------------------
    def accept(self, incident_id: str, actor: Actor) -> Incident:
        """The holding unit accepts the matter and starts handling it (→ 处置)."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_holder(actor, inc, "受理", coordinators=False)
            require_stage(inc, (ASSESS, CONSULT), "受理")
            require_no_pending_transfer(inc, "受理")
            if inc.stage == ASSESS and consult_required(inc):
                why = "涉及多个单位" if inc.co_unit_ids else f"严重程度为“{inc.severity}”"
                raise refuse(f"该事件{why}，须先会商再受理", "stage")
            inc.stage = HANDLE
            return Change("accepted", None, {"unit_id": inc.unit_id})

        return self._run(incident_id, actor, command)

    def transfer(self, incident_id: str, actor: Actor, *, to_unit_id: str, reason: str) -> Incident:
        """转办: offer the matter to another unit; it moves only when that unit accepts."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_holder(actor, inc, "转办")
            require_stage(inc, (COLLECT, ASSESS, CONSULT, HANDLE), "转办")
            require_no_pending_transfer(inc, "再次转办")
            why = require_text(reason, "转办理由")
            target = require_unit(self.org, to_unit_id, "接收单位")
            if target == inc.unit_id:
                raise refuse("不能转办给本单位", "invalid")
            session.add(Transfer(incident_id=inc.id, from_unit_id=inc.unit_id, to_unit_id=target, reason=why,
                                 requested_by=actor.username, requested_at=now, status="pending"))
            inc.pending_transfer_to = target
            return Change("transfer_requested", why, {"from_unit_id": inc.unit_id, "to_unit_id": target})

        return self._run(incident_id, actor, command)

    def _pending(self, session: Session, inc: Incident, actor: Actor, what: str) -> Transfer:
        if not inc.pending_transfer_to:
            raise refuse("该事件没有待接收的转办", "conflict")
        if actor.unit_id != inc.pending_transfer_to and actor.role != "admin":
            raise refuse(f"转办的接收单位是 {inc.pending_transfer_to}，本单位不能{what}", "forbidden")
        transfer = session.execute(
            select(Transfer).where(Transfer.incident_id == inc.id, Transfer.status == "pending")
            .order_by(Transfer.id.desc()).limit(1)
        ).scalar_one_or_none()
        if transfer is None:  # the column says pending but no record: data written by hand
            raise refuse("找不到待接收的转办记录", "conflict")
        return transfer

    def accept_transfer(self, incident_id: str, actor: Actor) -> Incident:
        """The receiving unit accepts a 转办 and becomes the holder; the clocks keep running."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_open(inc, "接收转办")
            transfer = self._pending(session, inc, actor, "接收")
            transfer.status, transfer.decided_by, transfer.decided_at = "accepted", actor.username, now
            old = inc.unit_id
            inc.pending_transfer_to = None
            self._hand_to(inc, transfer.to_unit_id)
            self._decision(inc, actor, now, "transfer",
                           [f"转办：{self._unit_name(old)} → {self._unit_name(inc.unit_id)}", transfer.reason])
            return Change("transferred", transfer.reason, {"from_unit_id": old, "to_unit_id": inc.unit_id,
                                                           "transfer_id": transfer.id})

        return self._run(incident_id, actor, command)

    def reject_transfer(self, incident_id: str, actor: Actor, *, reason: str) -> Incident:
        """The receiving unit declines a 转办; the matter stays with its holder."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_open(inc, "拒收转办")
            why = require_text(reason, "拒收理由")
            transfer = self._pending(session, inc, actor, "拒收")
            transfer.status, transfer.decided_by, transfer.decided_at = "rejected", actor.username, now
            transfer.decision_reason = why
            inc.pending_transfer_to = None
            return Change("transfer_rejected", why, {"to_unit_id": transfer.to_unit_id, "transfer_id": transfer.id})

        return self._run(incident_id, actor, command)

    def record_handling(self, incident_id: str, actor: Actor, *, action: str) -> Incident:
        """处置: record what the holding unit did."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_holder(actor, inc, "记录处置情况", coordinators=False)
            require_stage(inc, (HANDLE, RESPOND), "记录处置情况")
            text = require_text(action, "处置情况")
            return Change("handling", text, {"action": text}, kind="handling")

        return self._run(incident_id, actor, command)

    # -- 回应 --------------------------------------------------------------------------------------
    def record_response(self, incident_id: str, actor: Actor, *, channel: str, content: str,
                        published_at: datetime | None = None, link: str | None = None,
                        kind: str = "response") -> Incident:
        """回应: record a published response; it meets the clocks it satisfies."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_holder(actor, inc, "发布回应")
            early = (ASSESS, CONSULT) if actor.role in ("publicity", "admin") and kind in (
                "authoritative_info", "clarification") else ()
            require_stage(inc, (*early, HANDLE, RESPOND), "发布回应")
            text = require_text(content, "回应内容")
            if kind not in RESPONSE_KINDS:
                raise refuse(f"回应类型只能是 {', '.join(RESPONSE_KINDS)}", "invalid")
            if channel not in RESPONSE_CHANNELS:
                raise refuse(f"发布渠道只能是 {', '.join(RESPONSE_CHANNELS)}（网站、政务新媒体、新闻发布会、媒体采访）",
                             "invalid")
            if link is not None and link.strip() and not link.strip().startswith(("http://", "https://")):
                raise refuse("链接须以 http:// 或 https:// 开头", "invalid")
            when = published_at or now
            if when.tzinfo is None:
                raise refuse("发布时间须带时区", "invalid")
            when = when.astimezone(UTC)
            if when > now + _FUTURE_SKEW:
                raise refuse("发布时间不能晚于当前时间", "invalid")
            response = Response(incident_id=inc.id, unit_id=actor.unit_id, kind=kind, channel=channel,
                                published_at=when, link=(link or "").strip() or None, content=text,
                                recorded_by=actor.username, recorded_at=now)
            session.add(response)
            met, late = deadlines.meet(session, self.ctx, inc, kind=kind, channel=channel, published_at=when, now=now)
            if inc.stage == HANDLE:
                inc.stage = RESPOND
            return Change("response", None, {"kind": kind, "channel": channel, "published_at": when.isoformat(),
                                             "link": response.link, "content": text[:500], "clocks_met": met},
                          kind="response", extra=late)

        return self._run(incident_id, actor, command)

    # -- 评估 and after ----------------------------------------------------------------------------
    def evaluate(self, incident_id: str, actor: Actor, *, effect: str, score: int | None = None) -> Incident:
        """评估: record the effect of the response and close the matter."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_holder(actor, inc, "评估")
            require_stage(inc, (RESPOND,), "评估")
            text = require_text(effect, "评估意见")
            if score is not None and not 0 <= score <= 100:
                raise refuse("评分须在 0 到 100 之间", "invalid")
            inc.stage, inc.status, inc.resolution = EVALUATE, "closed", "evaluated"
            return Change("evaluated", text, {"effect": text, "score": score}, kind="evaluation")

        return self._run(incident_id, actor, command)

    def reopen(self, incident_id: str, actor: Actor, *, reason: str) -> Incident:
        """Reopen a closed matter: an evaluated one goes back to 处置; a dismissed one to its stage."""

        def command(session: Session, inc: Incident, now: datetime) -> Change:
            require_coordinator(actor, "重新打开")
            if inc.status != "closed":
                raise refuse("只有已办结或已排除的事件可以重新打开" if inc.status == "open" else "已合并的事件不能重新打开",
                             "conflict")
            why = require_text(reason, "重新打开的理由")
            previous = inc.resolution
            if inc.stage == EVALUATE:
                inc.stage = HANDLE
            inc.status, inc.resolution = "open", None
            restored = deadlines.restore_cancelled(inc, self.ctx.clocks)
            return Change("reopened", why, {"previous_resolution": previous, "clocks_restored": restored})

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


__all__ = ["Actor", "Workflow", "WorkflowError"]
