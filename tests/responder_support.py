"""Helpers shared by the responder tests: a small org directory, a controllable clock, routed posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from huiyin.config.org import OrgDirectory, load_org_directory
from huiyin.config.settings import Settings, load_settings
from huiyin.responder.bus.messages import Place, PostRecord, RoutedPost, Routing

ORG_FILE = Path(__file__).resolve().parent / "data" / "responder_org.yaml"
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 5, 9, 0, tzinfo=CST)  # a Thursday


def responder_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings with the small org directory, a private data dir and the embedded bus."""
    overrides.setdefault("bus", "embedded")
    return load_settings(config_dir="", data_dir=tmp_path / "var", org_files=(str(ORG_FILE),), **overrides)


def small_org() -> OrgDirectory:
    return load_org_directory([ORG_FILE])


class FakeClock:
    """A clock the test moves by hand: ``clock()`` is now; ``clock.advance(hours=5)``."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, at: datetime) -> datetime:
        self.now = at.astimezone(UTC)
        return self.now


def routed(
    post_id: str, *, cluster_key: str | None = None, unit_id: str = "130123.housing", jid: str = "130123",
    severity: str | None = None, channel: str | None = "news", kind: str = "new", signals: dict[str, Any] | None = None,
    published_at: datetime | None = None, fetched_at: datetime | None = T0, text: str = "正定县某保障房小区停水三天无人管",
    co_unit_ids: list[str] | None = None, field_id: str | None = "affordable_housing", likes: int = 0,
    reposts: int = 0, comments: int = 0, reply_text: str | None = None, reply_at: datetime | None = None,
) -> dict[str, Any]:
    """A RoutedPost as the router publishes it (JSON-ready)."""
    post = PostRecord(
        id=post_id, source="test", external_id=post_id.split(":")[-1], kind=kind, text=text, title=text[:20],
        url=f"https://example.gov.cn/{post_id}", channel=channel, published_at=published_at, fetched_at=fetched_at,
        likes=likes, reposts=reposts, comments=comments, reply_text=reply_text, reply_at=reply_at,
    )
    routing = Routing(
        unit_id=unit_id, unit_name=unit_id, tier="county", field_id=field_id, severity=severity,
        place=Place(jurisdiction_id=jid), co_unit_ids=co_unit_ids or [], rule="single_unit",
        reasons=["关键词：保障房", "地点：正定县"], confidence=0.9, signals=signals or {},
    )
    return RoutedPost(post=post, routing=routing, cluster_key=cluster_key or post_id,
                      routed_at=fetched_at or T0).model_dump(mode="json")
