"""Prometheus metrics of one app: request latency, event latency, and figures read at scrape time.

Counts that live in the database (posts ingested, incidents per stage, overdue clocks) and the
bus lag of each stage's consumer group are read when Prometheus scrapes, so several API
processes report the same truth. Each app has its own registry (tests build many apps).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from huiyin.config.settings import Settings
from huiyin.responder.bus import Bus
from huiyin.responder.store import Database
from huiyin.responder.store.tables import Deadline, Incident, Post

log = logging.getLogger(__name__)
disable_created_metrics()  # the *_created series only double the output; Prometheus needs none of them
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class _StoreCollector(Collector):
    """Figures read from the database and the bus at scrape time."""

    def __init__(self, db: Database, bus: Bus | None, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.db, self.bus, self.settings, self.clock = db, bus, settings, clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        try:
            with self.db.session() as session:
                posts = session.scalar(select(func.count()).select_from(Post)) or 0
                stages = session.execute(
                    select(Incident.stage, Incident.status, func.count()).group_by(Incident.stage, Incident.status)
                ).all()
                overdue = session.execute(
                    select(Deadline.rule, func.count())
                    .where((Deadline.status == "missed") | ((Deadline.status == "open") & (Deadline.due_at < now)))
                    .group_by(Deadline.rule)
                ).all()
        except Exception as exc:  # a scrape must answer even when the database is down
            log.warning("metrics: database unavailable: %s", exc)
            yield GaugeMetricFamily("huiyin_database_up", "1 if the database answered the scrape", value=0)
            return
        yield GaugeMetricFamily("huiyin_database_up", "1 if the database answered the scrape", value=1)
        yield CounterMetricFamily("huiyin_posts_ingested", "Posts stored so far (rate() gives the ingest rate)", value=posts)
        inc = GaugeMetricFamily("huiyin_incidents", "Incidents by stage and status", labels=["stage", "status"])
        for stage, status, n in stages:
            inc.add_metric([stage, status], n)
        yield inc
        od = GaugeMetricFamily("huiyin_deadlines_overdue", "Clocks past due (missed, or open after due time)", labels=["rule"])
        total = 0
        for rule, n in overdue:
            od.add_metric([rule], n)
            total += n
        yield od
        yield GaugeMetricFamily("huiyin_overdue_total", "All clocks past due", value=total)
        lag = getattr(self.bus, "lag", None)
        if lag is not None:
            t = self.settings.topics
            g = GaugeMetricFamily("huiyin_bus_lag", "Records a stage's group has not committed (queue depth)",
                                  labels=["group", "topic"])
            for group, topic in (("huiyin-router", t.posts_raw), (self.settings.responder.consumer_group, t.incidents_routed)):
                try:
                    g.add_metric([group, topic], lag(group, topic))
                except Exception as exc:
                    log.warning("metrics: bus lag of %s on %s unavailable: %s", group, topic, exc)
            yield g


class ApiMetrics:
    """The registry and the instruments the app updates as it works."""

    def __init__(self, db: Database, bus: Bus | None, settings: Settings,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "huiyin_http_request_duration_seconds", "HTTP request latency", ["method", "route", "status"],
            registry=self.registry, buckets=LATENCY_BUCKETS,
        )
        self.event_latency = Histogram(
            "huiyin_event_latency_seconds", "Time from an incident event to its arrival at the API",
            ["type"], registry=self.registry, buckets=LATENCY_BUCKETS,
        )
        self.stream_clients = Gauge("huiyin_stream_clients", "Connected live-stream clients", registry=self.registry)
        self.registry.register(_StoreCollector(db, bus, settings, clock))

    def observe_event(self, event: dict, received_s: float) -> None:
        """Record how long an event took from the responder to this process."""
        try:
            at = datetime.fromisoformat(str(event.get("at")))
        except ValueError:
            return
        if at.tzinfo is None:
            return
        self.event_latency.labels(str(event.get("type", "?"))[:32]).observe(max(0.0, received_s - at.timestamp()))

    def render(self) -> bytes:
        return generate_latest(self.registry)
