"""处置: the holding unit accepts the matter, hands it on (转办) and records what it did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from huiyin.responder.actor import Actor
from huiyin.responder.rules import (
    ASSESS, COLLECT, CONSULT, HANDLE, RESPOND, consult_required, refuse, require_holder,
    require_no_pending_transfer, require_open, require_stage, require_text, require_unit,
)
from huiyin.responder.store.tables import Incident, Transfer
from huiyin.responder.workflow.core import Change, WorkflowCore


class HandlingCommands(WorkflowCore):
    """Acceptance, 转办 and handling actions."""

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
