"""The responder process: the stage on ``incidents.routed`` plus the deadline checker.

At start-up the checker runs once before anything else, so every clock that ran out while the
responder was down is recorded and escalated; then APScheduler wakes it every
``settings.responder.check_interval_s`` while the stage consumes until ``stop`` is set.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from huiyin.config.org import OrgDirectory, from_settings
from huiyin.config.settings import Settings
from huiyin.responder.bus.base import Bus, open_bus
from huiyin.responder.checker import CheckerScheduler, DeadlineChecker
from huiyin.responder.context import Context
from huiyin.responder.stage import ResponderStage
from huiyin.responder.store.db import Database, open_database

log = logging.getLogger(__name__)


def run_responder(
    settings: Settings, *, stop: threading.Event, db: Database | None = None, org: OrgDirectory | None = None,
    bus: Bus | None = None, clock: Callable[[], datetime] | None = None,
) -> None:
    """Run until ``stop`` is set; the batch in hand is finished and committed before returning."""
    own_db, own_bus = db is None, bus is None
    db = db or open_database(settings.db_url)
    org = org or from_settings(settings)
    bus = bus or open_bus(settings)
    ctx = Context.from_settings(settings, org)
    scheduler = CheckerScheduler(DeadlineChecker(db, ctx, bus, clock), settings.responder.check_interval_s)
    try:
        first = scheduler.start()
        log.info("responder: start-up deadline check: %d warning(s), %d miss(es)", first.warned, first.missed)
        runner = ResponderStage(settings, db, org, bus, clock=clock, stop=stop, ctx=ctx)
        log.info("responder: consuming %s as group %s (bus %s)", settings.topics.incidents_routed,
                 settings.responder.consumer_group, settings.bus)
        runner.run()
        log.info("responder: stopped after %d record(s), %d dead-lettered", runner.processed, runner.dead_lettered)
    finally:
        scheduler.shutdown()
        if own_bus:
            bus.close()
        if own_db:
            db.dispose()
