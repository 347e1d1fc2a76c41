"""Legal clocks: which deadlines an incident gets, from when, and which responses meet them.

Rules come from ``clocks.yaml`` (``settings.responder.clocks_file``; defaults from domain.md):
5 h authoritative information and a 24 h press conference for 特别重大/重大, 48 h response for
the rest, 3 working days for a policy interpretation, per-channel limits for 留言 and hotline
matters. Every deadline keeps its rule id, label and policy basis so a user can trace it.

>>> from datetime import datetime, UTC
>>> book = ClockBook.default()
>>> t = datetime(2026, 3, 5, 1, 0, tzinfo=UTC)
>>> [p.rule for p in book.plan(MatterFacts(severity="重大", event_at=t, detected_at=t))]
['authoritative_info_5h', 'press_conference_24h']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from huiyin.config.errors import ConfigError
from huiyin.config.settings import PACKAGE_CONFIG_DIR
from huiyin.responder.workdays import WorkCalendar

if TYPE_CHECKING:
    from huiyin.config.settings import Settings

SEVERITIES = ("特别重大", "重大", "较大", "一般")  # strictest first
RESPONSE_KINDS = ("response", "authoritative_info", "press_conference", "clarification")
RESPONSE_CHANNELS = ("website", "new_media", "press_conference", "media_interview")
Start = Literal["earliest", "event", "detected"]
DEFAULT_FILE = PACKAGE_CONFIG_DIR / "clocks.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Within(_Strict):
    """A time limit: hours or working days (exactly one)."""

    hours: float | None = Field(None, gt=0)
    working_days: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one(self) -> Within:
        if (self.hours is None) == (self.working_days is None):
            raise ValueError("give exactly one of hours or working_days")
        return self


class ClockRule(_Strict):
    """One rule of clocks.yaml."""

    id: str
    label: str
    basis: str = ""
    severity: tuple[str, ...] | None = None
    severity_not: tuple[str, ...] | None = None
    matter_kinds: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    within: Within
    urgent_within: Within | None = None
    start: Start | None = None
    satisfied_by: Literal["any"] | tuple[str, ...] = "any"
    satisfied_by_channels: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known_values(self) -> ClockRule:
        for name in ("severity", "severity_not"):
            for value in getattr(self, name) or ():
                if value not in SEVERITIES:
                    raise ValueError(f"{name}: unknown severity '{value}' (use {', '.join(SEVERITIES)})")
        if self.satisfied_by != "any":
            for kind in self.satisfied_by:
                if kind not in RESPONSE_KINDS:
                    raise ValueError(f"satisfied_by: unknown response kind '{kind}'")
        return self

    def applies(self, facts: MatterFacts) -> bool:
        """Whether this rule gives ``facts`` a deadline."""
        if self.severity is not None and facts.severity not in self.severity:
            return False
        if self.severity_not is not None and facts.severity in self.severity_not:
            return False
        if self.matter_kinds is not None and facts.matter_kind not in self.matter_kinds:
            return False
        return self.channels is None or facts.channel in self.channels

    def satisfied(self, kind: str, channel: str) -> bool:
        """Whether a response of ``kind`` on ``channel`` meets this clock."""
        if self.satisfied_by == "any" or kind in self.satisfied_by:
            return True
        return channel in self.satisfied_by_channels


class ClockFile(_Strict):
    """The whole clocks.yaml."""

    version: int = 1
    start: Start = "earliest"
    timezone: str = "Asia/Shanghai"
    rules: tuple[ClockRule, ...]

    @model_validator(mode="after")
    def _unique(self) -> ClockFile:
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError("rule ids must be unique")
        return self


@dataclass(frozen=True, slots=True)
class MatterFacts:
    """What the rules look at. ``event_at``: when it happened; ``detected_at``: when 回音 saw it."""

    detected_at: datetime
    severity: str | None = None
    event_at: datetime | None = None
    matter_kind: str = "opinion"
    channel: str | None = None
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class PlannedDeadline:
    """A deadline to store: rule, times, and a note when the calendar had to guess."""

    rule: str
    label: str
    basis: str
    starts_at: datetime
    due_at: datetime
    warn_at: datetime
    note: str | None = None


class ClockBook:
    """The loaded rules and the arithmetic to turn them into deadlines."""

    def __init__(self, config: ClockFile, *, warn_fraction: float = 0.8) -> None:
        self.config = config
        self.rules = {r.id: r for r in config.rules}
        self.warn_fraction = warn_fraction
        self.calendar = WorkCalendar(config.timezone)

    @classmethod
    def default(cls, *, warn_fraction: float = 0.8) -> ClockBook:
        """The rules shipped in config/clocks.yaml."""
        return cls(read_clock_file(DEFAULT_FILE), warn_fraction=warn_fraction)

    def start_of(self, rule: ClockRule, facts: MatterFacts) -> datetime:
        """When ``rule``'s clock starts for ``facts`` (the earlier known time by default)."""
        mode = rule.start or self.config.start
        if mode == "detected" or facts.event_at is None:
            return facts.detected_at
        if mode == "event":
            return facts.event_at
        return min(facts.event_at, facts.detected_at)

    def plan(self, facts: MatterFacts) -> list[PlannedDeadline]:
        """Every deadline the rules give ``facts``, in rule order."""
        return [self.deadline(rule, facts) for rule in self.config.rules if rule.applies(facts)]

    def deadline(self, rule: ClockRule, facts: MatterFacts) -> PlannedDeadline:
        """The deadline of one rule for ``facts``."""
        start = self.start_of(rule, facts)
        within = rule.urgent_within if facts.urgent and rule.urgent_within else rule.within
        label, note = rule.label, None
        if within.hours is not None:
            due = start + timedelta(hours=within.hours)
        else:
            due, fallback = self.calendar.add_working_days(start, int(within.working_days or 0))
            if fallback:
                years = "、".join(str(y) for y in fallback)
                note = (f"{years}年官方节假日数据缺失，工作日暂按周一至周五计算，请核对"
                        f" (no holiday data for {years}: Monday-Friday assumed)")
                label = f"{rule.label}（{years}年按周一至周五计）"[:100]
        warn = start + (due - start) * self.warn_fraction
        return PlannedDeadline(rule.id, label, rule.basis, start, due, warn, note)

    def satisfies(self, rule_id: str, kind: str, channel: str) -> bool:
        """Whether a response meets the clock ``rule_id`` (unknown rules: any response)."""
        rule = self.rules.get(rule_id)
        return True if rule is None else rule.satisfied(kind, channel)


def read_clock_file(path: Path) -> ClockFile:
    """Parse clocks.yaml, or raise ConfigError naming the key and the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"无法读取时限规则 cannot read clock rules: {exc.strerror}", source=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML 语法错误 syntax error: {exc}", source=str(path)) from None
    try:
        return ClockFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "rules"
        raise ConfigError(f"时限规则无效 invalid clock rule: {first['msg']}", key=key, source=str(path)) from None


def load_clocks(settings: Settings) -> ClockBook:
    """The clock rules named by the settings (a user's config dir may replace the file)."""
    path = settings.config_file(settings.responder.clocks_file)
    return ClockBook(read_clock_file(path), warn_fraction=settings.responder.warn_fraction)


def severity_rank(severity: str | None) -> int:
    """0 for 特别重大 … 3 for 一般, 4 for unknown: smaller is more severe."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
