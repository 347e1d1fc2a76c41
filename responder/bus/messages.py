"""The records that travel between stages. These are contracts: add fields, never rename.

posts.raw         PostRecord        crawler / ``huiyin ingest`` -> classifier
incidents.routed  RoutedPost        classifier -> responder
incident.events   IncidentEvent     responder -> API (live stream), anyone
huiyin.dead-letter DeadLetter       any stage, for a record it cannot process
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """Base: extra keys are kept (forward compatible), values are JSON-serialisable."""

    model_config = ConfigDict(extra="allow")


class PostRecord(Record):
    """A post as collected or imported. ``kind='update'`` carries new counts or a new reply."""

    id: str  # stable: "<source>:<external_id>"
    source: str
    external_id: str
    kind: Literal["new", "update"] = "new"
    text: str
    title: str | None = None
    url: str | None = None
    channel: str | None = None  # 留言板 | 问政 | news | 政务微博 | RSS | hotline
    author: str | None = None
    published_at: datetime | None = None
    fetched_at: datetime | None = None
    source_region: str | None = None  # jurisdiction id of the source: a hint for the place
    likes: int = 0
    dislikes: int = 0
    reposts: int = 0
    comments: int = 0
    reply_text: str | None = None
    reply_at: datetime | None = None
    cluster_id: str | None = None  # near-duplicate cluster from the crawler, if it knows one
    content_hash: str | None = None


class Place(Record):
    """Where a matter happened, as far as the text and the source tell."""

    province: str | None = None
    city: str | None = None
    county: str | None = None
    township: str | None = None
    jurisdiction_id: str | None = None  # the most specific jurisdiction found


class Routing(Record):
    """The router's decision: the contract of ``huiyin route`` output, minus the post id."""

    unit_id: str
    unit_name: str
    tier: str  # province | city | county | township | village
    field: str | None = None  # field name (Chinese), e.g. 征地补偿
    field_id: str | None = None
    place: Place = Field(default_factory=Place)
    severity: str | None = None  # 特别重大 | 重大 | 较大 | 一般 | None
    lead_unit_id: str | None = None
    lead_unit_name: str | None = None
    co_unit_ids: list[str] = Field(default_factory=list)
    co_unit_names: list[str] = Field(default_factory=list)
    rule: str
    reasons: list[str] = Field(default_factory=list)
    confidence: float | None = None
    needs_review: bool = False
    signals: dict[str, Any] = Field(default_factory=dict)


class RoutedPost(Record):
    """A post with its routing decision, keyed by the cluster it belongs to."""

    post: PostRecord
    routing: Routing
    cluster_key: str  # posts of one matter share it; the responder attaches them to one incident
    routed_at: datetime


class IncidentEvent(Record):
    """Something happened to an incident (created, attached, stage changed, clock warned...)."""

    event_id: str  # unique, for idempotent consumers
    incident_id: str
    type: str  # created | post_attached | stage_changed | transferred | response | deadline_warning | ...
    at: datetime
    actor: str
    unit_id: str | None = None
    jurisdiction_id: str | None = None
    stage: str | None = None
    severity: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class DeadLetter(Record):
    """A record a stage could not process, with the error; processing went on without it."""

    stage: str
    topic: str
    partition: int
    offset: int
    key: str | None = None
    value: Any = None
    error: str
    at: datetime
