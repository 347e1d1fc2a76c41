"""What every responder part needs besides the database: the org directory, the clock rules,
the local time zone and a few names from the settings. Built once, passed down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings
from huiyin.responder.clocks import ClockBook, load_clocks


@dataclass(frozen=True)
class Context:
    """Read-only collaborators of the workflow, the stage and the checker."""

    org: OrgDirectory
    clocks: ClockBook
    zone: ZoneInfo
    home_jurisdiction: str
    events_topic: str

    @classmethod
    def from_settings(cls, settings: Settings, org: OrgDirectory, clocks: ClockBook | None = None) -> Context:
        return cls(
            org=org,
            clocks=clocks or load_clocks(settings),
            zone=ZoneInfo(settings.timezone),
            home_jurisdiction=settings.home_jurisdiction,
            events_topic=settings.topics.incident_events,
        )

    def local(self, at: datetime) -> str:
        """A time as users read it: ``2026-03-05 09:00`` in the local zone."""
        return at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
