"""Fixtures for tests marked ``kafka``: one real Apache Kafka broker per test session.

The broker runs from the Maven jars in ``.ci/kafka/lib`` (fetched by ``.ci/kafka/fetch.sh`` on
first use). Off CI a machine without Java or Maven skips these tests; with ``CI=true`` a broker
that cannot start fails them, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.kafka_broker import BrokerError, KafkaBroker
from huiyin.config.settings import Settings, load_settings


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """A running single-node KRaft broker; tests may stop/kill and start it again."""
    broker = KafkaBroker()
    try:
        broker.start()
    except (BrokerError, OSError, ValueError) as exc:  # OSError: no java; ValueError: bad paths
        broker.close()
        message = f"Kafka broker did not start: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    print(f"\nKafka broker {broker.bootstrap} started in {broker.start_seconds:.1f} s (log {broker.log_path})")
    yield broker
    broker.close()


@pytest.fixture
def kafka_settings(kafka_broker: KafkaBroker, tmp_path: Path) -> Settings:
    """Settings pointing at the session broker, with a private data dir."""
    return load_settings(config_dir="", data_dir=tmp_path / "var", bus="kafka", kafka_bootstrap=kafka_broker.bootstrap)


@pytest.fixture
def kafka_names(request: pytest.FixtureRequest) -> tuple[str, str]:
    """A fresh (topic, group) pair, so tests never see each other's records or offsets."""
    tag = f"{request.node.name[:40]}-{uuid.uuid4().hex[:8]}".replace("[", "-").replace("]", "")
    return f"t-{tag}", f"g-{tag}"
