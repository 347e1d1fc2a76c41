"""Shared fixtures: settings on a temporary data dir, and real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests and benchmarks share the servers in bench/

from huiyin.config.settings import Settings, load_settings  # noqa: E402

pytest_plugins = ["tests.kafka_fixtures"]  # kafka_broker, kafka_settings, kafka_names

IN_CI = os.environ.get("CI") == "true"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with a private data dir and an embedded bus."""
    return load_settings(config_dir="", data_dir=tmp_path / "var", bus="embedded")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server: the one .ci/run started, or a private one started here."""
    url = os.environ.get("HUIYIN_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    from bench.pg_server import PostgresServer

    try:
        server = PostgresServer().start()
    except (FileNotFoundError, OSError) as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield server.url
    server.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage test runs on SQLite and on a real PostgreSQL server (a fresh database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    import uuid

    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()
