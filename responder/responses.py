"""回应 records: what every path that records a published response shares.

Two paths record responses. A person records one through ``Workflow.record_response``; and the
responder stage records the official reply that a government 留言板/问政 post carries
(``PostRecord.reply_text``/``reply_at``), because that reply *is* the government's response. Both
go through ``record_response`` below, so a response always does the same things: a Response row,
the clocks it satisfies met at its publication time (published after the due time: a miss with
escalation and 问责; a clock already missed keeps its miss and 问责 record and learns when it was
finally answered), and the one stage rule of a response (recorded while 处置, the matter moves to
回应; in earlier stages it stays where it is).

Why the stage does not simply call ``Workflow.record_response`` as a system actor: a workflow
command runs in its own transaction, while the stage applies a whole poll (posts, idempotency
ledger, audit) in one transaction and commits the offsets only after it; a second transaction
per reply would break that (a crash between the two would lose the reply or record it twice).
And the command refuses a response before 研判 — right for a unit, wrong for a reply that has
already been published on the board. So the stage calls ``record_official_reply`` inside its
own transaction: the shared writes plus the timeline entry (StageEvent kind "response"), the
audit record and the IncidentEvent "response", all as ``system:crawler`` of the holding unit.
The stage stays with people: in 收集/研判/会商 the reply is recorded and the matter stays where it
is (it never skips 研判 or 会商); only in 处置, where the holder has accepted the matter, does it
move to 回应, exactly as the holder's own response would move it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from huiyin.responder import deadlines
from huiyin.responder.actor import Actor
from huiyin.responder.audit import AuditEntry
from huiyin.responder.bus.messages import PostRecord, RoutedPost
from huiyin.responder.context import Context
from huiyin.responder.escalation import Outcome
from huiyin.responder.events import incident_event
from huiyin.responder.rules import HANDLE, RESPOND
from huiyin.responder.intake import aware
from huiyin.responder.store.tables import Incident, ProcessedMessage, Response, StageEvent

FUTURE_SKEW = timedelta(minutes=5)  # a response "published" later than now is a typo, not a fact
CRAWLER = "system:crawler"
OFFICIAL_REPLY_CHANNEL = "website"  # a 留言板/问政 board is a page of the government's website
OFFICIAL_REPLY_REASON = "政府留言板官方回复"


@dataclass
class Recorded:
    """What ``record_response`` wrote: the row, the clocks met, and the misses of a late response."""

    response: Response
    met: list[str]
    late: Outcome = field(default_factory=Outcome)
    payload: dict[str, Any] = field(default_factory=dict)  # for the timeline, the audit record and the event


def record_response(
    session: Session, ctx: Context, incident: Incident, *, unit_id: str, kind: str, channel: str, content: str,
    published_at: datetime, link: str | None, recorded_by: str, now: datetime,
) -> Recorded:
    """Add a validated response to ``incident`` and meet the clocks it satisfies.

    ``incident`` must be loaded with its deadlines and claimed (version bumped) by the caller.
    """
    response = Response(incident_id=incident.id, unit_id=unit_id, kind=kind, channel=channel,
                        published_at=published_at, link=link, content=content, recorded_by=recorded_by[:100],
                        recorded_at=now)
    session.add(response)
    met, late = deadlines.meet(session, ctx, incident, kind=kind, channel=channel, published_at=published_at, now=now)
    if incident.stage == HANDLE:
        incident.stage = RESPOND
    payload = {"kind": kind, "channel": channel, "published_at": published_at.isoformat(), "link": link,
               "content": content[:500], "clocks_met": met}
    return Recorded(response, met, late, payload)


def reply_text(post: PostRecord) -> str:
    """The official reply a post carries, stripped ('' for none)."""
    return (post.reply_text or "").strip()


def reply_key(post: PostRecord) -> str:
    """Idempotency key of one reply of one post: a changed reply text is a new response."""
    digest = hashlib.sha1(reply_text(post).encode("utf-8")).hexdigest()[:16]
    return f"{post.id}#r{digest}"


def reply_time(reply_at: datetime | None, fetched_at: datetime | None, now: datetime) -> datetime:
    """When the reply was published: ``reply_at``; without it (or if it lies in the future, a
    page's clock or time-zone error) the time the post was fetched; never later than now."""
    if reply_at is not None and reply_at <= now + FUTURE_SKEW:
        return min(reply_at, now).astimezone(UTC)
    return min(fetched_at or now, now).astimezone(UTC)


def record_official_reply(
    session: Session, ctx: Context, incident: Incident, post: PostRecord, *, published_at: datetime, now: datetime,
    event_id: str,
) -> Outcome:
    """Record the reply on a government board as the holding unit's response (see the module doc).

    Writes the Response (clocks met as for any response) and the timeline entry in ``session``;
    returns the audit records and events for the caller to append and publish after its commit.
    ``incident`` must be loaded with its deadlines and its version bumped by the caller.
    """
    actor = Actor(CRAWLER, incident.unit_id, "system")
    before = incident.stage
    link = (post.url or "").strip()[:2000] or None
    recorded = record_response(
        session, ctx, incident, unit_id=incident.unit_id, kind="response", channel=OFFICIAL_REPLY_CHANNEL,
        content=reply_text(post), published_at=published_at, link=link, recorded_by=f"source:{post.source}", now=now,
    )
    incident.updated_at = now
    payload = {**recorded.payload, "post_id": post.id, "source": post.source, "from_stage": before,
               "to_stage": incident.stage, "status": incident.status}
    session.add(StageEvent(incident_id=incident.id, at=now, actor=actor.username, unit_id=actor.unit_id,
                           kind="response", from_stage=before, to_stage=incident.stage, reason=OFFICIAL_REPLY_REASON,
                           payload=payload))
    entry = AuditEntry(actor.username, "response", "incident", incident.id, now, OFFICIAL_REPLY_REASON,
                       {**payload, "role": actor.role, "unit_id": actor.unit_id})
    event = incident_event(incident, "response", actor=actor.username, at=now, data=payload, event_id=event_id)
    return Outcome(audits=[entry, *recorded.late.audits], events=[event, *recorded.late.events],
                   missed=recorded.late.missed)


def record_replies(
    session: Session, ctx: Context, replies: list[tuple[RoutedPost, str]], *, group: str, now: datetime,
) -> tuple[Outcome, list[dict[str, Any]]]:
    """Record each (post, incident id) reply not yet recorded, once per post and reply text.

    Returns the audit records and events, and the ledger rows (``reply_key`` → ``response:<id>``)
    for the caller to insert in the same transaction, which makes the reply idempotent.
    """
    wanted: dict[str, tuple[RoutedPost, str]] = {}
    for routed, incident_id in replies:
        wanted.setdefault(reply_key(routed.post), (routed, incident_id))
    done = set(session.scalars(select(ProcessedMessage.message_key).where(
        ProcessedMessage.consumer == group, ProcessedMessage.message_key.in_(wanted))))
    todo = [(key, routed, iid) for key, (routed, iid) in wanted.items() if key not in done]
    outcome, ledger = Outcome(), []
    if not todo:
        return outcome, ledger
    incidents = {inc.id: inc for inc in session.scalars(
        select(Incident).where(Incident.id.in_({iid for _, _, iid in todo})).order_by(Incident.id)
        .options(selectinload(Incident.deadlines)))}
    for key, routed, incident_id in todo:
        post = routed.post
        when = reply_time(aware(post.reply_at, ctx.zone), aware(post.fetched_at, ctx.zone), now)
        outcome.extend(record_official_reply(session, ctx, incidents[incident_id], post, published_at=when, now=now,
                                             event_id=f"{key}:response"))
        ledger.append(dict(consumer=group, message_key=key, at=now, result=f"response:{incident_id}"))
    session.flush()
    return outcome, ledger
