"""The incident state machine: the only code that changes an incident's stage.

Every command checks the actor and the stage, then writes in one transaction the incident, a
StageEvent, its own records (transfer, 会商, response...) and the audit records; after the commit
it publishes one IncidentEvent (type = the command's event: assessed, dismissed, regraded,
rerouted, consulted, accepted, transfer_requested, transferred, transfer_rejected, handling,
response, evaluated, reopened, merged; ``data`` carries from_stage/to_stage). A refused command
raises WorkflowError with a Chinese reason and changes nothing.

Modules by concern: ``core`` (transaction, version claim, timeline/audit/event), ``assessment``
(assess, dismiss, regrade, reroute, merge), ``consultation`` (consult), ``handling`` (accept,
transfer, accept/reject transfer, record_handling), ``response`` (record_response, evaluate,
reopen). The writes of a response are shared with the responder stage (``responder.responses``).
"""

from __future__ import annotations

from huiyin.config.errors import WorkflowError
from huiyin.responder.actor import Actor
from huiyin.responder.workflow.assessment import AssessmentCommands
from huiyin.responder.workflow.consultation import ConsultationCommands
from huiyin.responder.workflow.core import Change
from huiyin.responder.workflow.handling import HandlingCommands
from huiyin.responder.workflow.response import ResponseCommands


class Workflow(AssessmentCommands, ConsultationCommands, HandlingCommands, ResponseCommands):
    """Commands on incidents. Each returns the updated Incident (detached, deadlines loaded).

    ``Workflow(db, org, settings, bus=None, clock=None)``; see the mixins for the commands.
    """


__all__ = ["Actor", "Change", "Workflow", "WorkflowError"]
