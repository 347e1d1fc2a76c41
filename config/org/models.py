"""Typed, frozen value objects of the org directory: tiers, jurisdictions, fields, units.

Identifiers are plain strings. A jurisdiction's id is its civil-affairs code (``"130102"``,
``"130102001"``) where one exists; a unit's id is derived from its jurisdiction's id:
``"130102.gov"``, ``"130102.publicity"``, ``"130102.education"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

UnitKind = Literal["government", "publicity", "department"]

# Suffixes of the derived unit ids.
GOVERNMENT_SUFFIX = "gov"
PUBLICITY_SUFFIX = "publicity"


class Tier(StrEnum):
    """The five tiers of 四级联动 plus the village (省 → 市 → 县 → 乡 → 村)."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def rank(self) -> int:
        """0 for the province, 4 for the village: smaller is higher."""
        return _RANK[self]

    @property
    def label(self) -> str:
        """One-character Chinese label: 省/市/县/乡/村."""
        return _LABELS[self]

    @property
    def level_label(self) -> str:
        """Chinese label for display: 省级/市级/县级/乡级/村级."""
        return _LABELS[self] + "级"

    @property
    def above(self) -> Tier | None:
        """The tier one step up, or None for the province."""
        return _ORDER[self.rank - 1] if self.rank > 0 else None

    @property
    def below(self) -> Tier | None:
        """The tier one step down, or None for the village."""
        return _ORDER[self.rank + 1] if self.rank < len(_ORDER) - 1 else None

    @property
    def has_departments(self) -> bool:
        """Province, city and county have functional departments; townships and villages do not."""
        return _RANK[self] <= 2

    def is_above(self, other: Tier) -> bool:
        """True if this tier is higher than ``other`` (province is above city)."""
        return self.rank < other.rank

    @classmethod
    def ordered(cls) -> tuple[Tier, ...]:
        """All tiers from the province down."""
        return _ORDER


_ORDER: tuple[Tier, ...] = (Tier.PROVINCE, Tier.CITY, Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE)
_RANK = {tier: i for i, tier in enumerate(_ORDER)}
_LABELS = {Tier.PROVINCE: "省", Tier.CITY: "市", Tier.COUNTY: "县", Tier.TOWNSHIP: "乡", Tier.VILLAGE: "村"}
DEPARTMENT_TIERS: tuple[Tier, ...] = (Tier.PROVINCE, Tier.CITY, Tier.COUNTY)


# Frozen, slotted dataclasses: ~10,000 units are built at every load, several times faster than
# pydantic models (the YAML entries they come from are validated by pydantic in files.py).
_frozen = dataclass(frozen=True, slots=True, kw_only=True)


@_frozen
class Jurisdiction:
    """A place with a government: 河北省, 石家庄市, 长安区, 建北街道, a village."""

    id: str
    name: str
    tier: Tier
    parent_id: str | None = None
    full_name: str = ""
    aliases: tuple[str, ...] = ()
    # 省直管: a county-level unit placed directly under the province (定州, 辛集).
    directly_administered: bool = False
    # The parent in the civil-affairs table when the directory places the entry elsewhere
    # (定州 under 保定, 雄县 under 保定 while 雄安新区 administers it).
    official_parent_id: str | None = None

    @property
    def label(self) -> str:
        """Display form: ``长安区（县级，130102）``."""
        return f"{self.name}（{self.tier.level_label}，{self.id}）"


@_frozen
class DepartmentType:
    """A kind of functional department and what it is called at each tier.

    ``names[tier]`` is either a suffix appended to the place (``教育厅`` → ``河北省教育厅``), a
    template with ``{place}`` (``国家税务总局{place}税务局``), or ``@other_type`` meaning that at
    this tier the department of ``other_type`` does the job (no separate unit exists).
    A tier missing from ``names`` has no such department; the government answers instead.
    """

    id: str
    name: str
    names: Mapping[Tier, str] = field(default_factory=lambda: MappingProxyType({}))

    def delegate_at(self, tier: Tier) -> str | None:
        """The department type that does this job at ``tier`` (``@other``), if any."""
        value = self.names.get(tier)
        return value[1:] if value and value.startswith("@") else None

    def suffix_at(self, tier: Tier) -> str | None:
        """The name suffix or template at ``tier``, or None if no own unit exists there."""
        value = self.names.get(tier)
        return None if not value or value.startswith("@") else value


@_frozen
class Field:
    """A field of government work that someone is in charge of (谁主管谁负责)."""

    id: str
    name: str
    pilot: bool = False  # one of the 26 pilot fields of 002 §二(一)
    department_type: str
    keywords: tuple[str, ...] = ()
    parent: str | None = None  # a coarse field this one refines (e.g. a training label)


@_frozen
class Unit:
    """Someone who can be responsible: a government, a publicity office or a department."""

    id: str
    name: str
    kind: UnitKind
    jurisdiction_id: str
    tier: Tier
    department_type: str | None = None
    fields: tuple[str, ...] = ()  # field ids this unit is in charge of at its jurisdiction
    # Other department types this unit does the job of here (大部制, e.g. 雄安新区公共服务局).
    covers: tuple[str, ...] = ()

    @property
    def kind_label(self) -> str:
        """Chinese name of the unit kind."""
        return {"government": "政府", "publicity": "宣传部门", "department": "职能部门"}[self.kind]


def government_id(jid: str) -> str:
    """Id of the government unit of a jurisdiction."""
    return f"{jid}.{GOVERNMENT_SUFFIX}"


def publicity_id(jid: str) -> str:
    """Id of the publicity office unit of a jurisdiction."""
    return f"{jid}.{PUBLICITY_SUFFIX}"


def department_id(jid: str, department_type: str) -> str:
    """Id of a department unit: ``130102.education``."""
    return f"{jid}.{department_type}"
