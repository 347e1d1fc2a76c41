"""The responder stage: routed posts (``incidents.routed``) become stored posts and incidents.

One poll is one database transaction: new incidents (created by cluster key) with their routing
decision and legal clocks, new posts attached to their incident, updated posts (new counts or
reply, ``version`` bumped), audit records, and a ledger row per message. Only after the commit
are the IncidentEvents published, and only after that does the runner commit the offsets.

A post that carries an official reply (government 留言板/问政 boards) records that reply as the
holding unit's response, once per post and reply text, meeting the clocks any response meets
(``responder.responses`` explains why this is shared code rather than a workflow command).

Idempotent: a message whose key (post id, and for updates the state it carries) is in the ledger
changes nothing; its events are published again with the same ids (the crash may have come
between commit and publish), so consumers deduplicate by ``event_id``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, selectinload

from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings
from huiyin.responder import audit, deadlines
from huiyin.responder.audit import AuditEntry
from huiyin.responder.bus.base import Bus, Message
from huiyin.responder.bus.messages import RoutedPost
from huiyin.responder.bulk import insert_rows
from huiyin.responder.bus.runner import StageRunner
from huiyin.responder.clocks import severity_rank
from huiyin.responder.context import Context
from huiyin.responder.events import make_event, publish
from huiyin.responder.intake import (
    aware, decision_row, heat_of, incident_row, message_key, post_row, stricter,
)
from huiyin.responder.responses import record_replies, reply_key, reply_text
from huiyin.responder.store.db import Database
from huiyin.responder.store.tables import (
    Deadline, Incident, Post, ProcessedMessage, RoutingDecision, StageEvent,
)
from huiyin.responder.store.types import utcnow

log = logging.getLogger(__name__)
ACTOR = "system:responder"
_INC = Incident.__table__
_POST = Post.__table__


@dataclass
class _Batch:
    """Everything one poll writes, collected before the statements run."""

    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)  # cluster_key -> new incident row
    first_post: dict[str, tuple[str, RoutedPost]] = field(default_factory=dict)  # cluster_key -> (key, creator)
    posts: list[dict[str, Any]] = field(default_factory=list)
    post_updates: list[dict[str, Any]] = field(default_factory=list)
    bumps: dict[str, list[float]] = field(default_factory=dict)  # incident id -> [posts, reposts, heat]
    raises: dict[str, str] = field(default_factory=dict)  # existing incident id -> stricter severity
    ledger: list[dict[str, Any]] = field(default_factory=list)
    replies: list[tuple[RoutedPost, str]] = field(default_factory=list)  # (post with a reply, incident id)
    audits: list[AuditEntry] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


class ResponderHandler:
    """The stage's handler: ``handler(messages)`` applies one poll."""

    def __init__(self, db: Database, ctx: Context, bus: Bus | None, *, group: str,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.ctx = ctx
        self.bus = bus
        self.group = group
        self.clock = clock or utcnow

    def __call__(self, messages: Sequence[Message]) -> None:
        parsed = [RoutedPost.model_validate(m.value) for m in messages]  # invalid -> poison -> dead letter
        now = self.clock().astimezone(UTC)
        with self.db.transaction() as session:
            events = self._apply(session, parsed, now)
        publish(self.bus, self.ctx.events_topic, events, strict=True)

    # -- one transaction ------------------------------------------------------------------------
    def _apply(self, session: Session, parsed: list[RoutedPost], now: datetime) -> list[dict[str, Any]]:
        keys = [message_key(r) for r in parsed]
        done: dict[str, str | None] = dict(session.execute(
            select(ProcessedMessage.message_key, ProcessedMessage.result)
            .where(ProcessedMessage.consumer == self.group, ProcessedMessage.message_key.in_(set(keys)))
        ).all())
        todo: list[tuple[str, RoutedPost]] = []
        seen: set[str] = set()
        replayed: list[tuple[str, str | None, RoutedPost]] = []
        for key, routed in zip(keys, parsed, strict=True):
            if key in done:
                replayed.append((key, done[key], routed))
            elif key not in seen:
                seen.add(key)
                todo.append((key, routed))
        batch = _Batch()
        if todo:
            self._collect(session, todo, batch, now)
            self._write(session, batch, now)
        if replayed:
            batch.events += self._replay_events(session, replayed, now)
            log.info("responder: %d replayed message(s) skipped (already applied)", len(replayed))
        return batch.events

    def _collect(self, session: Session, todo: list[tuple[str, RoutedPost]], batch: _Batch, now: datetime) -> None:
        post_ids = {r.post.id for _, r in todo}
        known_posts = {row.id: dict(row._mapping) for row in session.execute(
            select(_POST.c.id, _POST.c.incident_id, _POST.c.likes, _POST.c.reposts, _POST.c.comments)
            .where(_POST.c.id.in_(post_ids))
        )}
        clusters = self._incidents_by_cluster(session, {r.cluster_key for _, r in todo})
        new_posts: dict[str, dict[str, Any]] = {}
        for key, routed in todo:
            post = routed.post
            known = known_posts.get(post.id) or new_posts.get(post.id)
            if known is not None:
                self._update_post(key, routed, known, clusters, batch, now)
                continue
            target = clusters.get(routed.cluster_key)
            if target is None:
                target = incident_row(routed, self.ctx.org, self.ctx.zone, self.ctx.home_jurisdiction, now)
                clusters[routed.cluster_key] = target
                batch.incidents[routed.cluster_key] = target
                batch.first_post[routed.cluster_key] = (key, routed)
                result = "created"
            else:
                result = "attached"
                self._attach(routed, target, batch)
            row = post_row(post, target["id"], self.ctx.zone, now)
            new_posts[post.id] = row
            batch.posts.append(row)
            if reply_text(post):
                batch.replies.append((routed, target["id"]))
            batch.ledger.append(dict(consumer=self.group, message_key=key, at=now, result=f"{result}:{target['id']}"))
            if result == "attached":
                data = {"post_id": post.id, "cluster_key": routed.cluster_key}
                batch.audits.append(AuditEntry(ACTOR, "post_attached", "incident", target["id"], now, None, data))
                batch.events.append(self._event(target, "post_attached", now, data, f"{key}:attached"))

    def _incidents_by_cluster(self, session: Session, cluster_keys: set[str]) -> dict[str, dict[str, Any]]:
        cols = (_INC.c.id, _INC.c.cluster_key, _INC.c.status, _INC.c.merged_into, _INC.c.stage, _INC.c.severity,
                _INC.c.unit_id, _INC.c.jurisdiction_id, _INC.c.title)
        found = {row.cluster_key: dict(row._mapping) for row in session.execute(
            select(*cols).where(_INC.c.cluster_key.in_(cluster_keys)))}
        for ck, row in found.items():
            hops = 0
            while row["status"] == "merged" and row["merged_into"] and hops < 10:  # follow merges
                nxt = session.execute(select(*cols).where(_INC.c.id == row["merged_into"])).first()
                if nxt is None:
                    break
                row, hops = dict(nxt._mapping), hops + 1
            found[ck] = row
        return found

    def _attach(self, routed: RoutedPost, target: dict[str, Any], batch: _Batch) -> None:
        post = routed.post
        bump = batch.bumps.setdefault(target["id"], [0, 0, 0.0])
        bump[0] += 1
        bump[1] += post.reposts
        bump[2] += heat_of(post.likes, post.reposts, post.comments)
        proposed = routed.routing.severity
        if severity_rank(proposed) < severity_rank(target["severity"]):
            if routed.cluster_key in batch.incidents:  # created in this poll: not stored yet
                target["severity"] = proposed
            elif target["stage"] == "收集" and target["status"] == "open":  # before a human has assessed it
                batch.raises[target["id"]] = stricter(proposed, batch.raises.get(target["id"])) or proposed
                target["severity"] = proposed

    def _update_post(self, key: str, routed: RoutedPost, known: dict[str, Any], clusters: dict[str, dict[str, Any]],
                     batch: _Batch, now: datetime) -> None:
        post = routed.post
        incident_id = known["incident_id"]
        if post.kind == "new":  # the same post published twice: nothing to change
            batch.ledger.append(dict(consumer=self.group, message_key=key, at=now, result=f"duplicate:{incident_id}"))
            return
        old = (known["likes"], known["reposts"], known["comments"])
        batch.post_updates.append(dict(
            b_id=post.id, likes=post.likes, dislikes=post.dislikes, reposts=post.reposts, comments=post.comments,
            reply_text=post.reply_text, reply_at=aware(post.reply_at, self.ctx.zone), updated_at=now,
        ))
        known.update(likes=post.likes, reposts=post.reposts, comments=post.comments)  # a later update in this poll
        if incident_id:
            bump = batch.bumps.setdefault(incident_id, [0, 0, 0.0])
            bump[1] += post.reposts - old[1]
            bump[2] += heat_of(post.likes, post.reposts, post.comments) - heat_of(*old)
            if reply_text(post):
                batch.replies.append((routed, incident_id))
        batch.ledger.append(dict(consumer=self.group, message_key=key, at=now, result=f"updated:{incident_id}"))
        data = {"post_id": post.id, "likes": post.likes, "reposts": post.reposts, "comments": post.comments,
                "replied": bool(post.reply_text)}
        batch.audits.append(AuditEntry(ACTOR, "post_updated", "post", post.id, now, None, data))
        if incident_id:
            target = clusters.get(routed.cluster_key)
            holder = target if target and target["id"] == incident_id else {"id": incident_id}
            batch.events.append(self._event(holder, "post_updated", now, data, f"{key}:updated"))

    def _write(self, session: Session, batch: _Batch, now: datetime) -> None:
        new = list(batch.incidents.values())
        if new:
            insert_rows(session, _INC, new)
            rows, decisions, timeline = [], [], []
            for ck, inc in batch.incidents.items():
                key, routed = batch.first_post[ck]
                planned = self.ctx.clocks.plan(deadlines.facts_of(_Facts(inc)))
                rows += [deadlines.row_of(p, inc["id"], inc["unit_id"]) for p in planned]
                decisions.append(decision_row(routed, inc["id"], now, self.ctx.zone))
                timeline.append(dict(incident_id=inc["id"], at=now, actor=ACTOR, unit_id=inc["unit_id"],
                                     kind="stage", from_stage=None, to_stage="收集", reason="新发现的舆情",
                                     payload={"post_id": routed.post.id, "rule": routed.routing.rule}))
                clocks = [{"rule": p.rule, "due_at": p.due_at.isoformat()} for p in planned]
                data = {"post_id": routed.post.id, "cluster_key": ck, "rule": routed.routing.rule,
                        "reasons": list(routed.routing.reasons)[:5], "deadlines": clocks}
                batch.audits.insert(0, AuditEntry(ACTOR, "created", "incident", inc["id"], now,
                                                  "; ".join(routed.routing.reasons[:3]) or None, data))
                batch.events.insert(0, self._event(inc, "created", now, {**data, "title": inc["title"]},
                                                   f"{key}:created"))
            if rows:
                insert_rows(session, Deadline.__table__, rows)
            insert_rows(session, RoutingDecision.__table__, decisions)
            insert_rows(session, StageEvent.__table__, timeline)
        if batch.posts:
            insert_rows(session, _POST, batch.posts)
        if batch.post_updates:
            session.execute(
                update(_POST).where(_POST.c.id == bindparam("b_id")).values(
                    likes=bindparam("likes"), dislikes=bindparam("dislikes"), reposts=bindparam("reposts"),
                    comments=bindparam("comments"), reply_text=bindparam("reply_text"),
                    reply_at=bindparam("reply_at"), updated_at=bindparam("updated_at"), version=_POST.c.version + 1,
                ),
                batch.post_updates,
            )
        bumps = [dict(b_id=i, b_posts=b[0], b_reposts=b[1], b_heat=b[2], b_now=now)
                 for i, b in sorted(batch.bumps.items())]  # row locks in id order, as the checker takes them
        if bumps:
            session.execute(
                update(_INC).where(_INC.c.id == bindparam("b_id")).values(
                    post_count=_INC.c.post_count + bindparam("b_posts"),
                    repost_count=_INC.c.repost_count + bindparam("b_reposts"),
                    heat=_INC.c.heat + bindparam("b_heat"), updated_at=bindparam("b_now"), version=_INC.c.version + 1,
                ),
                bumps,
            )
        if batch.raises:
            self._raise_severity(session, batch, now)
        if batch.replies:
            self._record_replies(session, batch, now)
        if batch.ledger:
            insert_rows(session, ProcessedMessage.__table__, batch.ledger)
        audit.append(session, batch.audits)

    def _raise_severity(self, session: Session, batch: _Batch, now: datetime) -> None:
        """A later post shows the matter is graver: stricter clocks from the original start."""
        found = session.execute(
            select(Incident).where(Incident.id.in_(batch.raises)).options(selectinload(Incident.deadlines))
        ).scalars().all()
        for inc in found:
            old, inc.severity = inc.severity, batch.raises[inc.id]
            added, cancelled = deadlines.replan(session, self.ctx.clocks, inc)
            data = {"severity": [old, inc.severity], "clocks_added": added, "clocks_cancelled": cancelled}
            reason = f"后续帖子显示严重程度为“{inc.severity}”"
            session.add(StageEvent(incident_id=inc.id, at=now, actor=ACTOR, unit_id=inc.unit_id, kind="regraded",
                                   from_stage=inc.stage, to_stage=inc.stage, reason=reason, payload=data))
            batch.audits.append(AuditEntry(ACTOR, "regraded", "incident", inc.id, now, reason, data))
            batch.events.append(self._event(
                {"id": inc.id, "unit_id": inc.unit_id, "jurisdiction_id": inc.jurisdiction_id, "stage": inc.stage,
                 "severity": inc.severity}, "regraded", now, data, f"{inc.id}:raise:{inc.severity}"))
        session.flush()

    def _record_replies(self, session: Session, batch: _Batch, now: datetime) -> None:
        """Official replies become responses; every incident here is already locked and its
        version bumped by this poll, so a workflow command racing it runs again on the new state."""
        outcome, ledger = record_replies(session, self.ctx, batch.replies, group=self.group, now=now)
        batch.audits += outcome.audits
        batch.events += outcome.events
        batch.ledger += ledger

    # -- events ---------------------------------------------------------------------------------
    def _event(self, inc: dict[str, Any], type_: str, now: datetime, data: dict[str, Any], event_id: str) -> dict[str, Any]:
        return make_event(inc["id"], type_, actor=ACTOR, at=now, unit_id=inc.get("unit_id"),
                          jurisdiction_id=inc.get("jurisdiction_id"), stage=inc.get("stage"),
                          severity=inc.get("severity"), data=data, event_id=event_id)

    def _replay_events(self, session: Session, replayed: list[tuple[str, str | None, RoutedPost]],
                       now: datetime) -> list[dict[str, Any]]:
        """The events of already-applied messages, again, with their original ids."""
        replies = {reply_key(r.post): r for _, _, r in replayed if reply_text(r.post)}
        answered: dict[str, str | None] = dict(session.execute(
            select(ProcessedMessage.message_key, ProcessedMessage.result)
            .where(ProcessedMessage.consumer == self.group, ProcessedMessage.message_key.in_(replies))
        ).all()) if replies else {}
        wanted = {r.split(":", 1)[1] for r in [*(r for _, r, _ in replayed), *answered.values()] if r and ":" in r}
        rows = {row.id: dict(row._mapping) for row in session.execute(
            select(_INC.c.id, _INC.c.unit_id, _INC.c.jurisdiction_id, _INC.c.stage, _INC.c.severity, _INC.c.title)
            .where(_INC.c.id.in_(wanted)))} if wanted else {}
        names = {"created": "created", "attached": "post_attached", "updated": "post_updated"}
        out = []
        for key, result, routed in replayed:
            what, _, incident_id = (result or "").partition(":")
            if what not in names or incident_id not in rows:
                continue
            data = {"post_id": routed.post.id, "cluster_key": routed.cluster_key, "replayed": True}
            if what == "created":
                data["title"] = rows[incident_id]["title"]
            out.append(self._event(rows[incident_id], names[what], now, data, f"{key}:{what}"))
        for key, result in answered.items():
            what, _, incident_id = (result or "").partition(":")
            if what == "response" and incident_id in rows:
                data = {"post_id": replies[key].post.id, "replayed": True}
                out.append(self._event(rows[incident_id], "response", now, data, f"{key}:response"))
        return out


class _Facts:
    """Attribute view of a new incident row for ``deadlines.facts_of``."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update(row)


def ResponderStage(  # noqa: N802 - a factory named like the class it stands for (contracts.md)
    settings: Settings, db: Database, org: OrgDirectory, bus: Bus,
    clock: Callable[[], datetime] | None = None, stop: threading.Event | None = None,
    *, ctx: Context | None = None, max_records: int = 500,
) -> StageRunner:
    """The responder stage as a StageRunner on ``incidents.routed``."""
    context = ctx or Context.from_settings(settings, org)
    handler = ResponderHandler(db, context, bus, group=settings.responder.consumer_group, clock=clock)
    return StageRunner(
        bus, name="responder", topics=[settings.topics.incidents_routed], group=settings.responder.consumer_group,
        handler=handler, dead_letter_topic=settings.topics.dead_letter, stop=stop, max_records=max_records,
    )
