"""The deadline checker: the database holds the clocks; APScheduler only wakes this up.

``check_deadlines(now)`` finds every open clock whose due time has passed (a miss: escalation,
问责, events) or whose warning time has passed (a warning, once). It handles whatever is due,
however long ago — so clocks that ran out while the responder was down are all caught by the
run at start-up. Claims are compare-and-set updates, so two checkers never double-record.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from huiyin.responder import audit
from huiyin.responder.bus.base import Bus
from huiyin.responder.context import Context
from huiyin.responder.escalation import Outcome, record_miss, record_warning
from huiyin.responder.events import publish
from huiyin.responder.store.db import Database
from huiyin.responder.store.tables import Deadline, Incident
from huiyin.responder.store.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    """What one run did."""

    warned: int
    missed: int
    at: datetime


class DeadlineChecker:
    """Warn and escalate from the deadlines table."""

    def __init__(self, db: Database, ctx: Context, bus: Bus | None = None,
                 clock: Callable[[], datetime] | None = None, *, batch: int = 200) -> None:
        self.db = db
        self.ctx = ctx
        self.bus = bus
        self.clock = clock or utcnow
        self.batch = batch
        self._lock = threading.Lock()  # one run at a time in this process

    def check_deadlines(self, now: datetime | None = None) -> CheckResult:
        """Handle every clock due or warn-due at ``now`` (default: the injected clock)."""
        now = (now or self.clock()).astimezone(UTC)
        total = Outcome()
        with self._lock:
            after_id = 0
            while True:
                outcome, after_id = self._run_batch(now, after_id)
                total.extend(outcome)
                if after_id < 0:
                    break
        if total.warned or total.missed:
            log.info("deadline check at %s: %d warning(s), %d miss(es)", now.isoformat(), total.warned, total.missed)
        return CheckResult(total.warned, total.missed, now)

    def _run_batch(self, now: datetime, after_id: int) -> tuple[Outcome, int]:
        """One transaction over up to ``batch`` clocks; returns the outcome and where to go on (-1: done)."""
        outcome = Outcome()
        with self.db.transaction() as session:
            due = session.execute(
                select(Deadline)
                .where(
                    Deadline.status == "open",
                    Deadline.id > after_id,
                    or_(Deadline.due_at <= now, and_(Deadline.warned_at.is_(None), Deadline.warn_at <= now)),
                )
                .order_by(Deadline.id)
                .limit(self.batch)
                .options(selectinload(Deadline.incident))
            ).scalars().all()
            with session.no_autoflush:  # the new rows go in together, not one flush per claim
                # Incidents are locked in id order, as the stage does: no deadlock between them.
                for deadline in sorted(due, key=lambda d: (d.incident_id, d.id)):
                    incident: Incident = deadline.incident
                    if deadline.due_at <= now:
                        outcome.extend(record_miss(session, self.ctx, incident, deadline, now))
                    else:
                        outcome.extend(record_warning(session, self.ctx, incident, deadline, now))
            audit.append(session, outcome.audits)
        # Events are published only after the records are committed.
        publish(self.bus, self.ctx.events_topic, outcome.events)
        return outcome, (due[-1].id if len(due) == self.batch else -1)


class CheckerScheduler:
    """Runs the checker at start-up, then every ``interval_s`` seconds in a background thread."""

    def __init__(self, checker: DeadlineChecker, interval_s: float) -> None:
        self.checker = checker
        self.interval_s = interval_s
        self.scheduler = BackgroundScheduler(timezone=UTC)

    def start(self) -> CheckResult:
        """Catch up at once (clocks missed while down), then schedule; returns the catch-up result."""
        first = self.checker.check_deadlines()
        self.scheduler.add_job(
            self._tick, "interval", seconds=self.interval_s, id="deadline-check",
            max_instances=1, coalesce=True, misfire_grace_time=None, replace_existing=True,
        )
        self.scheduler.start()
        return first

    def _tick(self) -> None:
        try:
            self.checker.check_deadlines()
        except Exception:  # the next tick tries again; the clocks stay in the database
            log.exception("deadline check failed")

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
