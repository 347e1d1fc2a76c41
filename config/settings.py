"""The one settings object of 回音.

Values come, in rising priority, from the defaults below, ``settings.yaml`` in the package's
``config/`` folder, ``settings.yaml`` in each folder named by ``HUIYIN_CONFIG_DIR``
(``os.pathsep``-separated), environment variables prefixed ``HUIYIN_`` (nested keys joined
with ``__``, e.g. ``HUIYIN_API__SESSION_SECRET``) and finally keyword overrides. The object is
built once at start-up and passed down; nothing below the entry points reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from huiyin.config.errors import ConfigError

PACKAGE_CONFIG_DIR = Path(__file__).resolve().parent
SETTINGS_FILE = "settings.yaml"
ENV_PREFIX = "HUIYIN_"


class Section(BaseModel):
    """Base of settings sections: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Topics(Section):
    """Bus topic names."""

    posts_raw: str = "posts.raw"
    incidents_routed: str = "incidents.routed"
    incident_events: str = "incident.events"
    dead_letter: str = "huiyin.dead-letter"
    ops_alerts: str = "ops.alerts"


class ClassifierSettings(Section):
    """Field classifier and router."""

    model_path: Path | None = None  # None: the model shipped with the package
    min_confidence: float = Field(0.55, ge=0.0, le=1.0)
    tokenizer: Literal["compiled", "jieba", "rjieba"] = "compiled"
    threads: int = Field(0, ge=0, le=64)  # judgement threads; 0: every core this process may use


class CrawlerSettings(Section):
    """Spiders and the sources they visit."""

    sources_file: str = "sources.yaml"
    user_agent: str = "HuiyinBot/0.1 (Huiyin government public-opinion monitor; open source)"  # ASCII: an HTTP header
    obey_robots: bool = True
    concurrent_per_domain: int = Field(2, ge=1, le=32)
    download_delay_s: float = Field(0.5, ge=0.0)
    max_body_bytes: int = Field(2_000_000, ge=1024)
    autothrottle: bool = True
    retry_times: int = Field(3, ge=0, le=10)
    retry_backoff_s: float = Field(2.0, ge=0.0)  # first retry pause; doubles per attempt (Retry-After honoured)
    crawl_timeout_s: float = Field(1800.0, gt=0)  # a crawl child process is stopped after this
    cluster_threshold: float = Field(0.6, gt=0.0, lt=1.0)  # MinHash LSH Jaccard threshold for reposts
    cluster_window_days: int = Field(30, ge=1)  # reposts older than this start a new cluster
    demo_url: str = "http://127.0.0.1:8765"  # the local demo site; "{demo}" in sources.yaml


class ResponderSettings(Section):
    """Workflow, clocks and escalation."""

    clocks_file: str = "clocks.yaml"
    check_interval_s: float = Field(30.0, gt=0)
    warn_fraction: float = Field(0.8, gt=0.0, lt=1.0)
    consumer_group: str = "huiyin-responder"


class ApiSettings(Section):
    """HTTP API and dashboard."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    session_secret: str | None = None  # required outside the embedded demo
    token_ttl_s: int = Field(8 * 3600, ge=60)
    login_attempts_per_minute: int = Field(5, ge=1)


class Settings(BaseSettings):
    """Everything 回音 needs to know at start-up."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    config_dirs: tuple[Path, ...] = (PACKAGE_CONFIG_DIR,)
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: a SQLite file in data_dir
    bus: Literal["embedded", "kafka"] = "embedded"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_client_id: str = "huiyin"
    kafka_partitions: int = Field(3, ge=1, le=256)  # posts.raw and incidents.routed: consumers scale up to this
    # How soon the group hands a dead (e.g. SIGKILLed) consumer's partitions to a live one; the
    # broker only accepts 6-300 s by default (group.min/max.session.timeout.ms).
    kafka_session_timeout_s: float = Field(10.0, ge=6, le=300)
    timezone: str = "Asia/Shanghai"
    home_jurisdiction: str = "130000"
    org_files: tuple[str, ...] = ("org/fields.yaml", "org/hebei.yaml")
    topics: Topics = Topics()
    classifier: ClassifierSettings = ClassifierSettings()
    crawler: CrawlerSettings = CrawlerSettings()
    responder: ResponderSettings = ResponderSettings()
    api: ApiSettings = ApiSettings()

    @field_validator("database_url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @property
    def db_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<data_dir>/huiyin.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'huiyin.db').resolve()}"

    def config_file(self, name: str) -> Path:
        """Resolve a configuration file: the last config dir that has it wins."""
        if Path(name).is_absolute():
            return Path(name)
        for folder in reversed(self.config_dirs):
            candidate = folder / name
            if candidate.exists():
                return candidate
        raise ConfigError("configuration file not found", key=name, source=_dirs_label(self.config_dirs))

    def config_files(self, names: tuple[str, ...]) -> list[Path]:
        """Resolve several configuration files, each in the last config dir that has it."""
        return [self.config_file(n) for n in names]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))


class _YamlSource(PydanticBaseSettingsSource):
    """Reads ``settings.yaml`` from every config dir and remembers where each key came from."""

    files: list[Path] = []
    origins: dict[str, Path] = {}

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.data: dict[str, Any] = {}
        for path in _YamlSource.files:
            if not path.exists():
                continue
            try:
                loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise ConfigError(f"YAML syntax error: {exc}", source=str(path)) from exc
            if not isinstance(loaded, dict):
                raise ConfigError("settings file must hold a mapping", source=str(path))
            for key, value in loaded.items():
                _YamlSource.origins[str(key)] = path
                if isinstance(value, dict) and isinstance(self.data.get(key), dict):
                    self.data[key] = {**self.data[key], **value}
                else:
                    self.data[key] = value

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def _dirs_label(dirs: tuple[Path, ...] | list[Path]) -> str:
    return ", ".join(str(d) for d in dirs)


def config_dirs_from(value: str | None) -> tuple[Path, ...]:
    """The package's config dir followed by the user's (``HUIYIN_CONFIG_DIR``)."""
    extra = [Path(p) for p in (value or "").split(os.pathsep) if p]
    return (PACKAGE_CONFIG_DIR, *extra)


def load_settings(config_dir: str | None = None, **overrides: Any) -> Settings:
    """Build the settings object, or raise ConfigError naming the key and where it came from.

    >>> load_settings(bus="embedded").bus
    'embedded'
    """
    dirs = config_dirs_from(config_dir if config_dir is not None else os.environ.get(f"{ENV_PREFIX}CONFIG_DIR"))
    for folder in dirs[1:]:
        if not folder.is_dir():
            raise ConfigError("config directory does not exist", key=f"{ENV_PREFIX}CONFIG_DIR", source=str(folder))
    _YamlSource.files = [d / SETTINGS_FILE for d in dirs]
    _YamlSource.origins = {}
    overrides.setdefault("config_dirs", dirs)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise _explain(exc) from None


def _explain(exc: ValidationError) -> ConfigError:
    """Turn the first validation error into a message naming the key and its source."""
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "?"
    top = str(first["loc"][0]) if first["loc"] else ""
    env_name = ENV_PREFIX + key.replace(".", "__").upper()
    top_env = ENV_PREFIX + top.upper()
    if any(name.startswith(top_env) for name in os.environ):
        source = f"environment variable {env_name if env_name in os.environ else top_env}"
    elif top in _YamlSource.origins:
        source = str(_YamlSource.origins[top])
    else:
        source = "settings"
    return ConfigError(f"invalid configuration: {first['msg']}", key=key, source=source)
