"""Helpers of the API tests: settings, real routed posts through the real responder stage, users,
a real uvicorn server in a thread.

Incidents are never written by hand: a RoutedPost goes on ``incidents.routed`` and the responder
stage stores it, sets its clocks and publishes its events, as in production.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from argon2 import PasswordHasher

from huiyin.api.users import add_user
from huiyin.config.org import OrgDirectory, from_settings
from huiyin.config.settings import Settings, load_settings
from huiyin.responder.bus import Bus
from huiyin.responder.bus.messages import Place, PostRecord, RoutedPost, Routing
from huiyin.responder.stage import ResponderStage
from huiyin.responder.store import Database

SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct-horse-battery"
# Test accounts are hashed with cheap argon2id parameters so that logging in takes milliseconds;
# the product's own hashing (RFC 9106 defaults) is used by `huiyin users add` and its test.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# Principals of the access tests: username -> (role, unit). Incident A lies in 正定县 (under 石家庄),
# held by 正定县教育局; incident B lies in 唐山市路南区, held by 路南区住建局.
USERS: dict[str, tuple[str, str]] = {
    "admin": ("admin", "130000.publicity"),
    "pub_province": ("publicity", "130000.publicity"),
    "pub_city": ("publicity", "130100.publicity"),
    "pub_other": ("publicity", "130200.publicity"),
    "leader_city": ("leader", "130100.gov"),
    "unit_a": ("unit", "130123.education"),
    "unit_b": ("unit", "130202.housing_construction"),
    "unit_c": ("unit", "130123.housing_construction"),
}


def api_settings(tmp_path: Path, database_url: str = "", **api: Any) -> Settings:
    """Settings on a private data dir, embedded bus, a real signing secret."""
    return load_settings(
        config_dir="", data_dir=tmp_path / "var", bus="embedded", database_url=database_url,
        api={"session_secret": SECRET, **api},
    )


def org_of(settings: Settings) -> OrgDirectory:
    return from_settings(settings)


def add_users(db: Database, org: OrgDirectory, users: dict[str, tuple[str, str]] = USERS) -> None:
    with db.transaction() as session:
        for username, (role, unit) in users.items():
            add_user(session, org, username=username, password=PASSWORD, unit_id=unit, role=role, hasher=FAST_HASHER)


def routed_post(
    *,
    title: str,
    text: str,
    unit_id: str,
    jurisdiction_id: str,
    severity: str | None = "一般",
    field_id: str | None = None,
    co_unit_ids: list[str] | None = None,
    published_at: datetime | None = None,
    reasons: list[str] | None = None,
    channel: str = "留言板",
    url: str | None = None,
    at: datetime | None = None,
) -> RoutedPost:
    """A post with the router's decision, as the classifier stage would publish it (fetched ``at``)."""
    now = at or datetime.now(UTC)
    pid = uuid.uuid4().hex[:12]
    return RoutedPost(
        post=PostRecord(
            id=f"test:{pid}", source="test", external_id=pid, text=text, title=title, channel=channel,
            url=url or f"http://127.0.0.1/post/{pid}", published_at=published_at or now - timedelta(minutes=30),
            fetched_at=now,
        ),
        routing=Routing(
            unit_id=unit_id, unit_name=unit_id, tier="county", field_id=field_id,
            place=Place(jurisdiction_id=jurisdiction_id), severity=severity, co_unit_ids=co_unit_ids or [],
            rule="territorial_functional",
            reasons=reasons or [f"属地：{jurisdiction_id}", "谁主管谁负责：测试领域"],
            confidence=0.9,
        ),
        cluster_key=f"c-{pid}",
        routed_at=now,
    )


def publish_and_store(settings: Settings, db: Database, org: OrgDirectory, bus: Bus, *posts: RoutedPost,
                      clock: Any = None) -> list[str]:
    """Put routed posts on the bus and run the real responder stage over them; returns incident ids."""
    bus.publish_many(settings.topics.incidents_routed,
                     [(p.cluster_key, p.model_dump(mode="json")) for p in posts])
    bus.flush()
    ResponderStage(settings, db, org, bus, clock=clock).run_until_idle(idle_polls=1)
    from sqlalchemy import select

    from huiyin.responder.store.tables import Incident

    with db.session() as session:
        by_key = dict(session.execute(
            select(Incident.cluster_key, Incident.id).where(Incident.cluster_key.in_([p.cluster_key for p in posts]))
        ).all())
    return [by_key[p.cluster_key] for p in posts]


@contextmanager
def module_database(request: Any, folder: Path, backend: str) -> Iterator[str]:
    """A fresh database for a module-scoped stack: a SQLite file, or a new PostgreSQL database on the
    session's server (the ``postgres_url`` fixture)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'api.db'}"
        return
    from sqlalchemy import create_engine, text

    base = request.getfixturevalue("postgres_url")
    name = f"api_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    """A uvicorn server in a thread on 127.0.0.1."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread


@contextmanager
def live_server(app: Any) -> Iterator[LiveServer]:
    """Serve ``app`` on a free port until the block ends."""
    from huiyin.api.app import make_server

    port = free_port()
    server = make_server(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", server, thread)
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Stack:
    """A running API over a real database and embedded bus, with its parts for the test to use."""

    settings: Settings
    db: Database
    org: OrgDirectory
    bus: Bus
    app: Any
    url: str
    clock: Any = None

    def token(self, username: str, password: str = PASSWORD) -> str:
        r = httpx.post(f"{self.url}/api/auth/token", data={"username": username, "password": password}, timeout=30)
        r.raise_for_status()
        return r.json()["access_token"]

    def client(self, username: str | None = None) -> httpx.Client:
        """An HTTP client, logged in with a bearer token if ``username`` is given."""
        headers = {"Authorization": f"Bearer {self.token(username)}"} if username else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def store(self, *posts: RoutedPost) -> list[str]:
        return publish_and_store(self.settings, self.db, self.org, self.bus, *posts, clock=self.clock)


@contextmanager
def api_stack(settings: Settings, *, users: dict[str, tuple[str, str]] | None = USERS,
              clock: Any = None) -> Iterator[Stack]:
    """Open database and bus, add users, serve ``create_app`` on a real uvicorn server."""
    from huiyin.api.app import create_app
    from huiyin.responder.bus import open_bus
    from huiyin.responder.store import open_database
    from huiyin.responder.workflow import Workflow

    org = org_of(settings)
    db = open_database(settings.db_url)
    bus = open_bus(settings)
    try:
        if users:
            add_users(db, org, users)
        workflow = Workflow(db, org, settings, bus=bus, clock=clock)
        app = create_app(settings, db, org, bus=bus, workflow=workflow, clock=clock)
        with live_server(app) as server:
            yield Stack(settings, db, org, bus, app, server.url, clock)
    finally:
        bus.close()
        db.dispose()
