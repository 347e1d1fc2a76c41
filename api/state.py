"""What every request of one app shares: settings, database, org directory, bus, workflow."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from huiyin.api.events import EventHub
from huiyin.api.metrics import ApiMetrics
from huiyin.api.security import LoginThrottle, TokenService
from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings
from huiyin.responder.bus import Bus
from huiyin.responder.store import Database
from huiyin.responder.workflow import Workflow


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppState:
    """Held on ``app.state.ctx``; dependencies in ``huiyin.api.deps`` hand out its parts."""

    settings: Settings
    db: Database
    org: OrgDirectory
    bus: Bus | None
    workflow: Workflow
    tokens: TokenService
    throttle: LoginThrottle
    metrics: ApiMetrics
    hub: EventHub | None = None
    clock: Callable[[], datetime] = utc_now
    closing: threading.Event = field(default_factory=threading.Event)  # set: end live streams now
