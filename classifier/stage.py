"""The router stage: ``posts.raw`` (PostRecord) → judgement → ``incidents.routed`` (RoutedPost).

Each batch is parsed whole before anything is published, so a malformed record makes the batch
fail without side effects; the runner then retries record by record and dead-letters only the
bad one. The routing is deterministic, so a replay after a crash republishes the same decisions
(the responder recognises a post it has already stored). Updates (``kind="update"``) are routed
too: the responder refreshes the post's counts and reply.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings
from huiyin.classifier.judge import Judge
from huiyin.responder.bus.base import Bus, Message
from huiyin.responder.bus.messages import PostRecord, RoutedPost
from huiyin.responder.bus.runner import Handler, StageRunner

log = logging.getLogger(__name__)

ROUTER_GROUP = "huiyin-router"


def cluster_key(post: PostRecord) -> str:
    """Posts of one matter share a key: the crawler's near-duplicate cluster, else the post itself."""
    return post.cluster_id or post.id


def make_router_handler(settings: Settings, org: OrgDirectory, bus: Bus, *, judge: Judge | None = None) -> Handler:
    """The stage handler: judge a batch of posts and publish one RoutedPost per post."""
    judge = judge or Judge.from_settings(settings, org)
    topic = settings.topics.incidents_routed

    def handle(messages: Sequence[Message]) -> None:
        posts = [PostRecord.model_validate(m.value) for m in messages]  # invalid → poison → dead letter
        routings = judge.judge_many(posts)
        now = datetime.now(UTC)
        items = []
        for message, post, routing in zip(messages, posts, routings):
            key = cluster_key(post)
            routed = RoutedPost(post=post, routing=routing, cluster_key=key, routed_at=now)
            items.append((key, routed.model_dump(mode="json")))
            log.debug("routed %s (%s[%d]@%d) → %s by %s", post.id, message.topic, message.partition,
                      message.offset, routing.unit_id, routing.rule)
        bus.publish_many(topic, items)
        bus.flush()

    return handle


def RouterStage(  # noqa: N802 - a factory named like the thing it builds, as the contract says
    settings: Settings,
    org: OrgDirectory,
    bus: Bus,
    stop: threading.Event | None = None,
    *,
    judge: Judge | None = None,
) -> StageRunner:
    """The router stage as a runner over ``posts.raw`` in group ``huiyin-router``."""
    return StageRunner(
        bus,
        name="router",
        topics=[settings.topics.posts_raw],
        group=ROUTER_GROUP,
        handler=make_router_handler(settings, org, bus, judge=judge),
        dead_letter_topic=settings.topics.dead_letter,
        stop=stop,
    )
