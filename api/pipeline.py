"""All of 回音 in one process: the stages on one bus, the deadline checker and the crawl schedule.

``huiyin run`` uses ``Pipeline.start``; ``huiyin ingest`` and tests use ``drain`` to push what is on
the bus through every stage and return when it is routed and stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from huiyin.config.org import OrgDirectory, from_settings
from huiyin.config.settings import Settings
from huiyin.responder.bus import Bus, open_bus
from huiyin.responder.bus.runner import StageRunner
from huiyin.responder.store import Database, open_database

log = logging.getLogger(__name__)


@dataclass
class Pipeline:
    """The router and responder stages wired to one bus and one database."""

    settings: Settings
    bus: Bus
    db: Database
    org: OrgDirectory
    clock: Callable[[], datetime] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stages: list[StageRunner] | None = None

    @classmethod
    def open(cls, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Pipeline:
        """Open the bus, the (migrated) database and the org directory the settings name."""
        org = from_settings(settings)
        return cls(settings=settings, bus=open_bus(settings), db=open_database(settings.db_url), org=org, clock=clock)

    @property
    def stages(self) -> list[StageRunner]:
        """Router, then responder: the order a post travels."""
        if self._stages is None:
            from huiyin.classifier.stage import RouterStage
            from huiyin.responder.stage import ResponderStage

            self._stages = [
                RouterStage(self.settings, self.org, self.bus, stop=self.stop),
                ResponderStage(self.settings, self.db, self.org, self.bus, clock=self.clock, stop=self.stop),
            ]
        return self._stages

    def drain(self, max_rounds: int = 100) -> int:
        """Run every stage until nothing is left on its topics; returns records handled."""
        total = 0
        for _ in range(max_rounds):
            handled = sum(stage.run_until_idle(idle_polls=1) for stage in self.stages)
            total += handled
            if handled == 0:
                break
        return total

    def start(self, names: list[str] | None = None) -> None:
        """Run each stage (or those named) in its own thread until ``close``."""
        for stage in self.stages:
            if names is not None and stage.name not in names:
                continue
            thread = threading.Thread(target=self._guard(stage), name=f"stage-{stage.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _guard(self, stage: StageRunner) -> Callable[[], None]:
        def run() -> None:
            try:
                stage.run()
            except Exception:  # a dead stage must be loud: it stops the whole process
                log.exception("stage %s failed; stopping 回音", stage.name)
                self.stop.set()

        return run

    def close(self, timeout_s: float = 30.0) -> None:
        """Ask every stage to finish its batch and commit, then release the bus and database."""
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout_s)
        self.bus.close()
        self.db.dispose()


def drain(settings: Settings) -> int:
    """Route and store everything waiting on the bus; used by ``huiyin ingest`` on the embedded bus."""
    pipeline = Pipeline.open(settings)
    try:
        return pipeline.drain()
    finally:
        pipeline.close()
