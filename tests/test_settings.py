"""Settings: defaults, YAML files, environment overrides and errors that name key and source."""

from __future__ import annotations

from pathlib import Path

import pytest

from huiyin.config.errors import ConfigError
from huiyin.config.settings import PACKAGE_CONFIG_DIR, load_settings


def test_defaults_come_from_package_yaml(tmp_path: Path) -> None:
    s = load_settings(config_dir="", data_dir=tmp_path)
    assert s.bus == "embedded"
    assert s.topics.posts_raw == "posts.raw"
    assert s.db_url == f"sqlite:///{(tmp_path / 'huiyin.db').resolve()}"
    assert s.config_dirs == (PACKAGE_CONFIG_DIR,)


def test_environment_overrides_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIYIN_BUS", "kafka")
    monkeypatch.setenv("HUIYIN_KAFKA_BOOTSTRAP", "10.0.0.1:9092")
    monkeypatch.setenv("HUIYIN_DATABASE_URL", "postgresql+psycopg://u:p@db/huiyin")
    monkeypatch.setenv("HUIYIN_TOPICS__POSTS_RAW", "city.posts")
    s = load_settings(config_dir="")
    assert (s.bus, s.kafka_bootstrap, s.db_url) == ("kafka", "10.0.0.1:9092", "postgresql+psycopg://u:p@db/huiyin")
    assert s.topics.posts_raw == "city.posts"
    assert s.topics.incidents_routed == "incidents.routed"  # the rest of the section survives


def test_user_config_dir_overrides_package(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("home_jurisdiction: '130100'\ntopics:\n  dead_letter: dlq\n", encoding="utf-8")
    s = load_settings(config_dir=str(tmp_path))
    assert s.home_jurisdiction == "130100"
    assert s.topics.dead_letter == "dlq"
    assert s.topics.posts_raw == "posts.raw"


def test_invalid_yaml_value_names_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("bus: rabbitmq\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir=str(tmp_path))
    assert err.value.key == "bus"
    assert err.value.source == str(tmp_path / "settings.yaml")
    assert "bus" in str(err.value) and "settings.yaml" in str(err.value)


def test_unknown_key_is_an_error_not_ignored(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("api:\n  prot: 8080\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir=str(tmp_path))
    assert err.value.key == "api.prot"


def test_invalid_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIYIN_DATABASE_URL", "mysql://nope")
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir="")
    assert err.value.key == "database_url"
    assert "HUIYIN_DATABASE_URL" in (err.value.source or "")


def test_broken_yaml_and_missing_dir_are_clear(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("bus: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML"):
        load_settings(config_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="HUIYIN_CONFIG_DIR"):
        load_settings(config_dir=str(tmp_path / "absent"))


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    s = load_settings(config_dir="")
    with pytest.raises(ConfigError) as err:
        s.config_file("no-such.yaml")
    assert err.value.key == "no-such.yaml"


def test_kafka_session_timeout_defaults_to_10_s_within_the_brokers_range(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(config_dir="").kafka_session_timeout_s == 10.0
    monkeypatch.setenv("HUIYIN_KAFKA_SESSION_TIMEOUT_S", "6")
    assert load_settings(config_dir="").kafka_session_timeout_s == 6.0
    for bad in ("5", "301"):  # the broker refuses a group member outside 6-300 s
        monkeypatch.setenv("HUIYIN_KAFKA_SESSION_TIMEOUT_S", bad)
        with pytest.raises(ConfigError, match="kafka_session_timeout_s"):
            load_settings(config_dir="")
