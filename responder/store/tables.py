"""Table models. API schemas live elsewhere (huiyin.api.schemas); never return these rows directly.

Stage names are the Chinese ones of 002 §三(三) because users, rules and reports speak them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from huiyin.responder.store.types import UTCDateTime, utcnow


class Base(DeclarativeBase):
    """Declarative base with JSON for dict/list annotations."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Post(Base):
    """One public post as collected (or imported). Updates bump ``version``, never add rows."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_posts_source_external"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(2000))
    channel: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    source_region: Mapped[str | None] = mapped_column(String(32))
    likes: Mapped[int] = mapped_column(Integer, default=0)
    dislikes: Mapped[int] = mapped_column(Integer, default=0)
    reposts: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    reply_text: Mapped[str | None] = mapped_column(Text)
    reply_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    cluster_id: Mapped[str | None] = mapped_column(String(128), index=True)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Incident(Base):
    """A matter: a cluster of posts about one thing, held by one responsible unit at a time."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_unit_stage", "unit_id", "stage"),
        Index("ix_incidents_jurisdiction", "jurisdiction_id"),
        Index("ix_incidents_lead_unit", "lead_unit_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cluster_key: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    field_id: Mapped[str | None] = mapped_column(String(64))
    place: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    jurisdiction_id: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str | None] = mapped_column(String(8))
    unit_id: Mapped[str] = mapped_column(String(64))
    lead_unit_id: Mapped[str | None] = mapped_column(String(64))
    co_unit_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    stage: Mapped[str] = mapped_column(String(8), default="收集")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed | merged
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    event_at: Mapped[datetime | None]
    detected_at: Mapped[datetime]
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    repost_count: Mapped[int] = mapped_column(Integer, default=0)
    heat: Mapped[float] = mapped_column(Float, default=0.0)
    signals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Added by 0002 (responder workflow).
    jurisdiction_path: Mapped[str] = mapped_column(String(200), default="")  # "/130000/130100/130123/": scope filters
    channel: Mapped[str | None] = mapped_column(String(32))  # channel of the first post: 留言板, hotline, news...
    matter_kind: Mapped[str] = mapped_column(String(32), default="opinion")  # opinion | policy_interpretation
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    pending_transfer_to: Mapped[str | None] = mapped_column(String(64), index=True)  # 转办 awaiting acceptance
    resolution: Mapped[str | None] = mapped_column(String(16))  # evaluated | dismissed | merged, when not open

    deadlines: Mapped[list[Deadline]] = relationship(back_populates="incident", order_by="Deadline.due_at")
    decisions: Mapped[list[RoutingDecision]] = relationship(back_populates="incident", order_by="RoutingDecision.id")
    events: Mapped[list[StageEvent]] = relationship(back_populates="incident", order_by="StageEvent.id")


class RoutingDecision(Base):
    """Who must answer and why: the rule applied and its reasons (words, place, threshold)."""

    __tablename__ = "routing_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    lead_unit_id: Mapped[str | None] = mapped_column(String(64))
    co_unit_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    rule: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    field_id: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str | None] = mapped_column(String(8))
    place: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confidence: Mapped[float | None] = mapped_column(Float)
    decided_by: Mapped[str] = mapped_column(String(100), default="router")
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    current: Mapped[bool] = mapped_column(Boolean, default=True)

    incident: Mapped[Incident] = relationship(back_populates="decisions")


class StageEvent(Base):
    """One entry of an incident's timeline: a stage change or a recorded action."""

    __tablename__ = "stage_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # stage | transfer | accept | handling | response | ...
    from_stage: Mapped[str | None] = mapped_column(String(8))
    to_stage: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    incident: Mapped[Incident] = relationship(back_populates="events")


class Deadline(Base):
    """A legal clock of one incident. The database, not the scheduler, is the truth."""

    __tablename__ = "deadlines"
    __table_args__ = (
        UniqueConstraint("incident_id", "rule", name="uq_deadlines_incident_rule"),
        Index("ix_deadlines_status_due", "status", "due_at"),
        Index("ix_deadlines_status_warn", "status", "warn_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    rule: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    due_at: Mapped[datetime]
    warn_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | met | missed | cancelled
    met_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    missed_at: Mapped[datetime | None]
    basis: Mapped[str | None] = mapped_column(String(200))  # the policy the rule comes from (added by 0002)
    note: Mapped[str | None] = mapped_column(Text)  # e.g. a working-day calendar fallback (added by 0002)

    incident: Mapped[Incident] = relationship(back_populates="deadlines")


class Response(Base):
    """A published response: channel, time, link and content. Rumour clarifications included."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # response | authoritative_info | press_conference | clarification
    channel: Mapped[str] = mapped_column(String(32))  # website | new_media | press_conference | media_interview
    published_at: Mapped[datetime]
    link: Mapped[str | None] = mapped_column(String(2000))
    content: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Transfer(Base):
    """A 转办: the holding unit hands a matter to another unit, which must accept it (added by 0002)."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    from_unit_id: Mapped[str] = mapped_column(String(64))
    to_unit_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | accepted | rejected
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)


class Consultation(Base):
    """A 会商 (joint consultation): participants, decision and lead unit (added by 0002)."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    participants: Mapped[list[Any]] = mapped_column(JSON, default=list)
    decision: Mapped[str] = mapped_column(Text)
    lead_unit_id: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Escalation(Base):
    """A missed or endangered clock raised to the next tier and the publicity office."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id"))
    kind: Mapped[str] = mapped_column(String(16))  # warning | miss
    from_unit_id: Mapped[str] = mapped_column(String(64))
    to_unit_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class Accountability(Base):
    """A 问责 record: the unit that let a clock slip, and the rule it broke."""

    __tablename__ = "accountability"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class AuditRecord(Base):
    """Append-only audit trail with a hash chain; triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class User(Base):
    """A person who logs in: a member of one unit with one role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # publicity | unit | leader | admin
    display_name: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedMessage(Base):
    """Idempotency ledger: a consumer skips a message key it has already applied."""

    __tablename__ = "processed_messages"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    result: Mapped[str | None] = mapped_column(String(200))  # what applying it did, to replay its events (0002)


class QuarantineRecord(Base):
    """Input that could not be used, kept with its reason for an operator. Never a silent drop."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stage: Mapped[str] = mapped_column(String(32))  # crawl | ingest | route | respond
    source: Mapped[str | None] = mapped_column(String(100), index=True)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class CrawlState(Base):
    """What a source has already emitted, so a post is emitted once and changes become updates."""

    __tablename__ = "crawl_state"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    item_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    state_hash: Mapped[str] = mapped_column(String(64))  # counts and reply: a change emits an update
    post_id: Mapped[str] = mapped_column(String(128))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class SourceHealth(Base):
    """A source's last crawl outcome; ``degraded`` carries the reason (403, captcha, login wall)."""

    __tablename__ = "source_health"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="ok")  # ok | degraded
    reason: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None]
    last_items: Mapped[int] = mapped_column(Integer, default=0)


class NearDupSignature(Base):
    """A collected post's MinHash signature and near-duplicate cluster (added by 0003, crawler).

    The crawler rebuilds its LSH index from these rows at start, so cluster ids survive restarts.
    """

    __tablename__ = "near_dup_signatures"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[str] = mapped_column(String(128), unique=True)
    source: Mapped[str] = mapped_column(String(100))
    cluster_id: Mapped[str] = mapped_column(String(128), index=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
