"""The org directory: who can be responsible, where, for what — read-only after loading.

It answers the three routing principles of 002 §三(三): 属地管理 (``chain``, ``government``),
谁主管谁负责 (``department_for``) and 分级负责 (``escalation_target``), and scopes users
(``units_within``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from huiyin.config.errors import UnknownOrgEntryError
from huiyin.config.org.models import DepartmentType, Field, Jurisdiction, Tier, Unit, government_id, publicity_id


class OrgDirectory:
    """Jurisdictions, units, fields and department types, with the lookups routing needs."""

    def __init__(
        self,
        *,
        jurisdictions: dict[str, Jurisdiction],
        units: dict[str, Unit],
        fields: dict[str, Field],
        department_types: dict[str, DepartmentType],
        serving: dict[tuple[str, str], str],
        local_unit_names: dict[str, str],
    ) -> None:
        self.jurisdictions: Mapping[str, Jurisdiction] = MappingProxyType(jurisdictions)
        self.units: Mapping[str, Unit] = MappingProxyType(units)
        self.fields: Mapping[str, Field] = MappingProxyType(fields)
        self.department_types: Mapping[str, DepartmentType] = MappingProxyType(department_types)
        self._serving = serving  # (jurisdiction id, department type) -> unit doing that job there
        children: dict[str, list[str]] = {}
        names: dict[str, list[str]] = {}
        for j in jurisdictions.values():  # ordered by tier, then id
            if j.parent_id is not None:
                children.setdefault(j.parent_id, []).append(j.id)
            parent = jurisdictions.get(j.parent_id) if j.parent_id else None
            for key in _lookup_keys(j, parent, jurisdictions):
                bucket = names.setdefault(key, [])
                if j.id not in bucket:
                    bucket.append(j.id)
        self._children = children
        self._names = names
        self._units_of: dict[str, list[str]] = {}
        self._in_charge: dict[tuple[str, str], str] = {}  # only where departments exist
        unit_names: dict[str, list[str]] = {}
        for u in units.values():
            self._units_of.setdefault(u.jurisdiction_id, []).append(u.id)
            if u.tier.has_departments:
                for fid in u.fields:
                    self._in_charge[(u.jurisdiction_id, fid)] = u.id
            for key in {u.name, local_unit_names.get(u.id, u.name)}:
                unit_names.setdefault(key, []).append(u.id)
        self._unit_names = unit_names
        self._within: dict[str, frozenset[str]] = {}

    # -- lookups by id ----------------------------------------------------------------------
    def jurisdiction(self, jid: str) -> Jurisdiction:
        """The jurisdiction with this id, or UnknownOrgEntryError."""
        try:
            return self.jurisdictions[jid]
        except KeyError:
            raise UnknownOrgEntryError(f"未知的行政区划 unknown jurisdiction '{jid}'") from None

    def unit(self, unit_id: str) -> Unit:
        """The unit with this id, or UnknownOrgEntryError."""
        try:
            return self.units[unit_id]
        except KeyError:
            raise UnknownOrgEntryError(f"未知的单位 unknown unit '{unit_id}'") from None

    def field(self, field_id: str) -> Field:
        """The field with this id, or UnknownOrgEntryError."""
        try:
            return self.fields[field_id]
        except KeyError:
            raise UnknownOrgEntryError(f"未知的领域 unknown field '{field_id}'") from None

    # -- territory ----------------------------------------------------------------------------
    def children(self, jid: str) -> list[Jurisdiction]:
        """Jurisdictions directly below ``jid``, by id."""
        self.jurisdiction(jid)
        return [self.jurisdictions[c] for c in self._children.get(jid, ())]

    def chain(self, jid: str) -> list[Jurisdiction]:
        """``jid`` and its ancestors up to the province: [长安区, 石家庄市, 河北省]."""
        result = [self.jurisdiction(jid)]
        while result[-1].parent_id is not None:
            result.append(self.jurisdictions[result[-1].parent_id])
        return result

    def units_of(self, jid: str) -> list[Unit]:
        """The units of one jurisdiction: government, publicity office, departments."""
        self.jurisdiction(jid)
        return [self.units[u] for u in self._units_of.get(jid, ())]

    def units_within(self, jid: str) -> set[str]:
        """Ids of every unit of ``jid`` and of all jurisdictions below it (a user's scope)."""
        if jid not in self._within:
            self.jurisdiction(jid)
            found: list[str] = []
            stack = [jid]
            while stack:
                current = stack.pop()
                found.extend(self._units_of.get(current, ()))
                stack.extend(self._children.get(current, ()))
            self._within[jid] = frozenset(found)
        return set(self._within[jid])

    # -- responsibility -----------------------------------------------------------------------
    def government(self, jid: str) -> Unit:
        """The government of a jurisdiction (长安区人民政府, 建北街道办事处)."""
        return self.units[government_id(self.jurisdiction(jid).id)]

    def publicity_office(self, jid: str) -> Unit:
        """The publicity office in charge of ``jid``; a village uses its township's."""
        for j in self.chain(jid):
            unit = self.units.get(publicity_id(j.id))
            if unit is not None:
                return unit
        raise UnknownOrgEntryError(f"没有宣传部门 no publicity office for '{jid}'")

    def department_for(self, jid: str, field_id: str) -> Unit:
        """The unit in charge of ``field_id`` at ``jid`` (谁主管谁负责).

        At province, city and county: the department of the field's type (or the unit doing its
        job there); the government if there is none. Below the county: the government.
        """
        j = self.jurisdiction(jid)
        self.field(field_id)
        if j.tier.has_departments:
            uid = self._in_charge.get((jid, field_id))
            if uid is not None:
                return self.units[uid]
        return self.government(jid)

    def department(self, jid: str, department_type: str) -> Unit | None:
        """The unit doing ``department_type``'s job at ``jid``, if any."""
        uid = self._serving.get((self.jurisdiction(jid).id, department_type))
        return self.units[uid] if uid else None

    def escalation_target(self, unit_id: str) -> Unit | None:
        """Where a unit's matter goes one tier up (分级负责); None at the province.

        A department goes to the department of the same type in the parent jurisdiction (for a
        consolidated bureau: of the first type it covers that the parent has), else to the
        parent's government; a government to the parent government; a publicity office to the
        parent's publicity office.
        """
        unit = self.unit(unit_id)
        parent_id = self.jurisdictions[unit.jurisdiction_id].parent_id
        if parent_id is None:
            return None
        if unit.kind == "publicity":
            return self.publicity_office(parent_id)
        if unit.kind == "department" and unit.department_type:
            # A consolidated bureau (大部制) also escalates along the types it covers, in order.
            for dtype in (unit.department_type, *unit.covers):
                uid = self._serving.get((parent_id, dtype))
                if uid:
                    return self.units[uid]
        return self.government(parent_id)

    def escalation_path(self, unit_id: str) -> list[Unit]:
        """The unit followed by every escalation target up to the province."""
        path = [self.unit(unit_id)]
        while (nxt := self.escalation_target(path[-1].id)) is not None:
            path.append(nxt)
        return path

    # -- names --------------------------------------------------------------------------------
    def find(self, name: str) -> list[Jurisdiction]:
        """Jurisdictions whose name, full name, alias or qualified name (石家庄市长安区) is ``name``.

        Ambiguous names (新华区: 石家庄 and 沧州) return every candidate, highest tier first.
        """
        return [self.jurisdictions[j] for j in self._names.get(name.strip(), ())]

    def find_units(self, text: str, *, partial: bool = True) -> list[Unit]:
        """Units named ``text`` (full or local name: 长安区教育局); else, if ``partial``, units whose
        name contains it (at least 2 characters)."""
        text = text.strip()
        exact = self._unit_names.get(text)
        if exact:
            return [self.units[u] for u in exact]
        if not partial or len(text) < 2:
            return []
        return [u for u in self.units.values() if text in u.name]

    def stats(self) -> dict[str, int]:
        """Counts for reports: jurisdictions per tier, units per kind, fields, department types."""
        counts: dict[str, int] = {f"jurisdictions.{t}": 0 for t in Tier.ordered()}
        for j in self.jurisdictions.values():
            counts[f"jurisdictions.{j.tier}"] += 1
        for kind in ("government", "publicity", "department"):
            counts[f"units.{kind}"] = 0
        for u in self.units.values():
            counts[f"units.{u.kind}"] += 1
        counts.update(
            jurisdictions=len(self.jurisdictions),
            units=len(self.units),
            fields=len(self.fields),
            pilot_fields=sum(1 for f in self.fields.values() if f.pilot),
            department_types=len(self.department_types),
        )
        return counts


def _lookup_keys(j: Jurisdiction, parent: Jurisdiction | None, all_j: Mapping[str, Jurisdiction]) -> list[str]:
    """Exact names under which ``find`` returns ``j``."""
    own = [j.name, *j.aliases]
    keys = [*own, j.full_name]
    if parent is not None:
        keys += [p + o for p in (parent.name, *parent.aliases) for o in own]
        # The full name without the province: 石家庄市长安区, 长安区建北街道's longer forms.
        province_len = len(next(a for a in _ancestors(j, all_j) if a.parent_id is None).name)
        keys.append(j.full_name[province_len:])
    return keys


def _ancestors(j: Jurisdiction, all_j: Mapping[str, Jurisdiction]) -> list[Jurisdiction]:
    result = [j]
    while result[-1].parent_id is not None:
        result.append(all_j[result[-1].parent_id])
    return result
