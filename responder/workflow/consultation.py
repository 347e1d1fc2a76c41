"""会商: the joint consultation required for multi-unit matters and for 较大 and above."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from huiyin.responder import deadlines
from huiyin.responder.actor import Actor
from huiyin.responder.rules import (
    ASSESS, CONSULT, refuse, require_coordinator, require_no_pending_transfer, require_stage, require_text,
    require_unit,
)
from huiyin.responder.store.tables import Consultation, Incident
from huiyin.responder.workflow.core import Change, WorkflowCore


class ConsultationCommands(WorkflowCore):
    """The 会商 command."""

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
