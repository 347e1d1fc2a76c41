"""回应 and after: record a published response, evaluate the effect, reopen a closed matter.

The writes of a response (row, clocks met, 处置 → 回应) are ``responses.record_response``,
shared with the responder stage, which records the official replies of government boards.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from huiyin.responder import deadlines
from huiyin.responder.actor import Actor
from huiyin.responder.clocks import RESPONSE_CHANNELS, RESPONSE_KINDS
from huiyin.responder.responses import FUTURE_SKEW, record_response
from huiyin.responder.rules import (
    ASSESS, CONSULT, EVALUATE, HANDLE, RESPOND, refuse, require_coordinator, require_holder, require_stage,
    require_text,
)
from huiyin.responder.store.tables import Incident
from huiyin.responder.workflow.core import Change, WorkflowCore


class ResponseCommands(WorkflowCore):
    """回应, 评估 and reopening."""

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
            if when > now + FUTURE_SKEW:
                raise refuse("发布时间不能晚于当前时间", "invalid")
            recorded = record_response(
                session, self.ctx, inc, unit_id=actor.unit_id, kind=kind, channel=channel, content=text,
                published_at=when, link=(link or "").strip() or None, recorded_by=actor.username, now=now,
            )
            return Change("response", None, recorded.payload, kind="response", extra=recorded.late)

        return self._run(incident_id, actor, command)

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
