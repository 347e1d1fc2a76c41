"""Pure helpers of the responder stage: a RoutedPost's identity, times, and its table rows.

Nothing here touches the database, so the stage can build a whole poll's rows and insert them in
a few statements.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from huiyin.config.org import OrgDirectory
from huiyin.responder.bus.messages import PostRecord, RoutedPost
from huiyin.responder.clocks import SEVERITIES, severity_rank
from huiyin.responder.visibility import jurisdiction_path

MATTER_KINDS = ("opinion", "policy_interpretation")


def message_key(routed: RoutedPost) -> str:
    """Idempotency key: the post, and for updates the state they carry (so a replay is a no-op)."""
    post = routed.post
    if post.kind == "new":
        return f"{post.id}#new"
    state = "|".join(str(x) for x in (post.likes, post.dislikes, post.reposts, post.comments,
                                      post.reply_text or "", post.reply_at or ""))
    return f"{post.id}#u{hashlib.sha1(state.encode('utf-8')).hexdigest()[:16]}"


def incident_id_for(cluster_key: str, detected_at: datetime, zone: ZoneInfo) -> str:
    """Deterministic id (a replay finds the same one): ``INC-20260305-3F2A9C01B4D7``."""
    digest = hashlib.sha1(cluster_key.encode("utf-8")).hexdigest()[:12].upper()
    return f"INC-{detected_at.astimezone(zone):%Y%m%d}-{digest}"


def aware(value: datetime | str | None, zone: ZoneInfo) -> datetime | None:
    """A time as aware UTC; naive times from Chinese pages are local (Asia/Shanghai) time."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def heat_of(likes: int, reposts: int, comments: int) -> float:
    """Attention a post draws: every post counts 1, reposts weigh most."""
    return 1.0 + 0.5 * reposts + 0.3 * comments + 0.1 * likes


def stricter(a: str | None, b: str | None) -> str | None:
    """The more severe of two severities (None = unknown)."""
    return a if severity_rank(a) <= severity_rank(b) else b


def post_row(post: PostRecord, incident_id: str, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """Column values of a new Post."""
    return dict(
        id=post.id, source=post.source, external_id=post.external_id, url=post.url, channel=post.channel,
        title=(post.title or None) and post.title[:500], text=post.text, author=post.author and post.author[:200],
        published_at=aware(post.published_at, zone), fetched_at=aware(post.fetched_at, zone) or now,
        source_region=post.source_region, likes=post.likes, dislikes=post.dislikes, reposts=post.reposts,
        comments=post.comments, reply_text=post.reply_text, reply_at=aware(post.reply_at, zone),
        content_hash=post.content_hash or hashlib.sha256(post.text.encode("utf-8")).hexdigest(),
        cluster_id=post.cluster_id, incident_id=incident_id, version=1, updated_at=now,
    )


def incident_row(routed: RoutedPost, org: OrgDirectory, zone: ZoneInfo, home: str, now: datetime) -> dict[str, Any]:
    """Column values of a new Incident created from its first post."""
    post, routing = routed.post, routed.routing
    signals = dict(routing.signals or {})
    jid = routing.place.jurisdiction_id
    if not jid:
        unit = org.units.get(routing.unit_id)
        jid = unit.jurisdiction_id if unit else home
    detected = aware(post.fetched_at, zone) or aware(routed.routed_at, zone) or now
    event = aware(signals.get("event_at"), zone) or aware(post.published_at, zone)
    kind = str(signals.get("kind") or ("policy_interpretation" if signals.get("policy_interpretation") else "opinion"))
    text = post.text.strip()
    return dict(
        id=incident_id_for(routed.cluster_key, detected, zone), cluster_key=routed.cluster_key,
        title=(post.title or text[:60] or post.id)[:500], summary=text[:500], field_id=routing.field_id,
        place=routing.place.model_dump(mode="json", exclude_none=True), jurisdiction_id=jid,
        severity=routing.severity if routing.severity in SEVERITIES else None, unit_id=routing.unit_id,
        lead_unit_id=routing.lead_unit_id, co_unit_ids=list(routing.co_unit_ids), stage="收集", status="open",
        needs_review=bool(routing.needs_review), event_at=event, detected_at=detected, post_count=1,
        repost_count=post.reposts, heat=heat_of(post.likes, post.reposts, post.comments),
        signals=signals, created_at=now, updated_at=now, version=1,
        jurisdiction_path=jurisdiction_path(org, jid), channel=post.channel and post.channel[:32],
        matter_kind=kind if kind in MATTER_KINDS else "opinion", urgent=bool(signals.get("urgent")),
    )


def decision_row(routed: RoutedPost, incident_id: str, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """The router's decision, kept with its reasons (every routing must be explainable)."""
    r = routed.routing
    return dict(
        incident_id=incident_id, unit_id=r.unit_id, lead_unit_id=r.lead_unit_id, co_unit_ids=list(r.co_unit_ids),
        rule=r.rule, reasons=list(r.reasons), field_id=r.field_id, severity=r.severity,
        place=r.place.model_dump(mode="json", exclude_none=True), confidence=r.confidence, decided_by="router",
        decided_at=aware(routed.routed_at, zone) or now, current=True,
    )
