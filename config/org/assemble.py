"""Validate merged org entries and derive the units: governments, publicity offices, departments.

Validation fails with OrgDirectoryError naming the entry (``jurisdictions[130102]``) and the file
it came from. Nesting rule: each jurisdiction sits exactly one tier below its parent, except a
county-level unit marked ``directly_administered: true`` (省直管: 定州, 辛集), which sits directly
under the province.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from huiyin.config.errors import OrgDirectoryError
from huiyin.config.org.directory import OrgDirectory
from huiyin.config.org.files import DepartmentTypeEntry, FieldEntry, JurisdictionEntry, OrgSources
from huiyin.config.org.models import (
    DEPARTMENT_TIERS,
    DepartmentType,
    Field,
    Jurisdiction,
    Tier,
    Unit,
    UnitKind,
    department_id,
    government_id,
    publicity_id,
)
from huiyin.config.org.naming import (
    department_name,
    department_place,
    government_name,
    local_department_name,
    publicity_name,
)

_RESERVED_TYPE_IDS = {"gov", "publicity"}


def _fail(message: str, key: str, path: Path) -> OrgDirectoryError:
    return OrgDirectoryError(message, key=key, source=str(path))


def assemble(sources: OrgSources) -> OrgDirectory:
    """Check the merged entries and build the directory with every derived unit."""
    dtypes = _department_types(sources.department_types)
    fields = _fields(sources.fields, dtypes)
    entries = {e.id: (e, p) for e, p in sources.jurisdictions}
    jurisdictions = _jurisdictions(entries)
    units: dict[str, Unit] = {}
    serving: dict[tuple[str, str], str] = {}
    local_names: dict[str, str] = {}
    all_fields = tuple(fields)
    for j in jurisdictions.values():
        entry, path = entries[j.id]
        parent = jurisdictions.get(j.parent_id) if j.parent_id else None
        _add_units(j, parent, entry, path, dtypes, fields, all_fields, units, serving, local_names)
    return OrgDirectory(
        jurisdictions=jurisdictions,
        units=units,
        fields=fields,
        department_types=dtypes,
        serving=serving,
        local_unit_names=local_names,
    )


def _department_types(items: list[tuple[DepartmentTypeEntry, Path]]) -> dict[str, DepartmentType]:
    result = {e.id: DepartmentType(id=e.id, name=e.name, names=MappingProxyType(dict(e.names))) for e, _ in items}
    for entry, path in items:
        key = f"department_types[{entry.id}]"
        if entry.id in _RESERVED_TYPE_IDS:
            raise _fail(f"部门类型 id 不能用保留字 reserved id '{entry.id}'", key, path)
        for tier, value in entry.names.items():
            if tier not in DEPARTMENT_TIERS:
                raise _fail(f"{tier.level_label}没有职能部门 tier '{tier}' has no departments", f"{key}.names", path)
            target = value[1:] if value.startswith("@") else None
            if target is not None and (target not in result or result[target].suffix_at(tier) is None):
                raise _fail(
                    f"委托的部门类型在{tier.level_label}不存在 delegate '@{target}' has no own department at tier '{tier}'",
                    f"{key}.names.{tier}",
                    path,
                )
    return result


def _fields(items: list[tuple[FieldEntry, Path]], dtypes: dict[str, DepartmentType]) -> dict[str, Field]:
    result: dict[str, Field] = {}
    for entry, path in items:
        key = f"fields[{entry.id}]"
        dtype = dtypes.get(entry.department_type)
        if dtype is None:
            raise _fail(f"未知的部门类型 unknown department type '{entry.department_type}'", f"{key}.department_type", path)
        for tier in DEPARTMENT_TIERS:
            if tier not in dtype.names:
                raise _fail(
                    f"领域「{entry.name}」的主管部门类型 {dtype.id} 在{tier.level_label}没有名称 "
                    f"department type '{dtype.id}' has no name at tier '{tier}'",
                    key,
                    path,
                )
        bad = [k for k in entry.keywords if len(k.strip()) < 2]
        if bad:
            raise _fail(f"关键词至少两个字 keywords need at least 2 characters: {bad}", f"{key}.keywords", path)
        result[entry.id] = Field(
            id=entry.id,
            name=entry.name,
            pilot=entry.pilot,
            department_type=entry.department_type,
            keywords=tuple(k.strip() for k in entry.keywords),
            parent=entry.parent,
        )
    paths = {e.id: p for e, p in items}
    for f in result.values():
        seen = {f.id}
        current = f.parent
        while current is not None:
            if current not in result:
                raise _fail(f"未知的上级领域 unknown parent field '{current}'", f"fields[{f.id}].parent", paths[f.id])
            if current in seen:
                raise _fail("领域的上级形成循环 parent fields form a cycle", f"fields[{f.id}].parent", paths[f.id])
            seen.add(current)
            current = result[current].parent
    return result


def _jurisdictions(entries: dict[str, tuple[JurisdictionEntry, Path]]) -> dict[str, Jurisdiction]:
    for entry, path in entries.values():
        key = f"jurisdictions[{entry.id}]"
        parent_tier: Tier | None = None
        if entry.parent is None:
            if entry.tier is not Tier.PROVINCE:
                raise _fail(f"{entry.tier.level_label}行政区划必须有上级 needs a parent", key, path)
        elif entry.parent not in entries:
            raise _fail(f"未知的上级行政区划 unknown parent '{entry.parent}'", f"{key}.parent", path)
        else:
            parent_tier = entries[entry.parent][0].tier
        direct = entry.tier is Tier.COUNTY and parent_tier is Tier.PROVINCE
        if entry.directly_administered and not direct:
            raise _fail(
                "directly_administered 只用于直属省的县级单位 only for county-level units under a province", key, path
            )
        if parent_tier is not None and parent_tier.rank != entry.tier.rank - 1 and not entry.directly_administered:
            raise _fail(
                f"层级嵌套错误 wrong tier nesting: {entry.tier} under {parent_tier} "
                "(县级直属省须标注 directly_administered: true)",
                f"{key}.parent",
                path,
            )
        short = [a for a in entry.aliases if len(a) < 2]
        if short:
            raise _fail(f"别名至少两个字 aliases need at least 2 characters: {short}", f"{key}.aliases", path)
        if entry.departments and not entry.tier.has_departments:
            raise _fail(f"{entry.tier.level_label}没有职能部门 tier has no departments", f"{key}.departments", path)
    full: dict[str, str] = {}

    def full_name(jid: str) -> str:
        if jid not in full:
            entry = entries[jid][0]
            full[jid] = (full_name(entry.parent) if entry.parent else "") + entry.name
        return full[jid]

    ordered = sorted(entries.values(), key=lambda item: (item[0].tier.rank, item[0].id))
    return {
        e.id: Jurisdiction(
            id=e.id,
            name=e.name,
            tier=e.tier,
            parent_id=e.parent,
            full_name=full_name(e.id),
            aliases=e.aliases,
            directly_administered=e.directly_administered,
            official_parent_id=e.official_parent,
        )
        for e, _ in ordered
    }


def _add_units(
    j: Jurisdiction,
    parent: Jurisdiction | None,
    entry: JurisdictionEntry,
    path: Path,
    dtypes: dict[str, DepartmentType],
    fields: dict[str, Field],
    all_fields: tuple[str, ...],
    units: dict[str, Unit],
    serving: dict[tuple[str, str], str],
    local_names: dict[str, str],
) -> None:
    gid = government_id(j.id)
    gov_name = entry.government_name or government_name(j)
    pub_name = entry.publicity_name or publicity_name(j)
    if not j.tier.has_departments:
        # Below the county the township (or village) government answers for every field.
        units[gid] = _unit(gid, gov_name, "government", j, None, all_fields, ())
        if pub_name:
            units[publicity_id(j.id)] = _unit(publicity_id(j.id), pub_name, "publicity", j, None, (), ())
        return
    key = f"jurisdictions[{j.id}].departments"
    here: dict[str, str] = {}  # department type -> unit id at this jurisdiction
    names: dict[str, tuple[str, str, tuple[str, ...]]] = {}  # unit id -> (name, type, covers)
    assigned: dict[str, str] = {}  # field id -> unit id, from explicit departments
    for dept in entry.departments:
        for dt in (dept.type, *dept.covers):
            if dt not in dtypes:
                raise _fail(f"未知的部门类型 unknown department type '{dt}'", key, path)
            if dt in here:
                raise _fail(f"部门类型重复 department type '{dt}' given twice", key, path)
        for fid in dept.fields:
            if fid not in fields:
                raise _fail(f"未知的领域 unknown field '{fid}'", key, path)
        uid = department_id(j.id, dept.type)
        names[uid] = (dept.name, dept.type, dept.covers)
        for dt in (dept.type, *dept.covers):
            here[dt] = uid
        assigned.update({fid: uid for fid in dept.fields})
    place = department_place(j, parent)
    if entry.standard_departments:
        for dtype in dtypes.values():
            suffix = dtype.suffix_at(j.tier)
            if suffix is None or dtype.id in here:
                continue
            uid = department_id(j.id, dtype.id)
            names[uid] = (department_name(suffix, place), dtype.id, ())
            here[dtype.id] = uid
            if place != j.name:
                local_names[uid] = local_department_name(suffix, j)
    for dtype in dtypes.values():
        target = dtype.delegate_at(j.tier)
        if target and dtype.id not in here and target in here:
            here[dtype.id] = here[target]
    in_charge: dict[str, list[str]] = {}
    for f in fields.values():
        uid = assigned.get(f.id) or here.get(f.department_type) or gid
        in_charge.setdefault(uid, []).append(f.id)
    units[gid] = _unit(gid, gov_name, "government", j, None, tuple(in_charge.get(gid, ())), ())
    if pub_name:
        units[publicity_id(j.id)] = _unit(publicity_id(j.id), pub_name, "publicity", j, None, (), ())
    for uid, (name, dt, covers) in names.items():
        units[uid] = _unit(uid, name, "department", j, dt, tuple(in_charge.get(uid, ())), covers)
    for dt, uid in here.items():
        serving[(j.id, dt)] = uid


def _unit(uid: str, name: str, kind: UnitKind, j: Jurisdiction, dtype: str | None,
          fields: tuple[str, ...], covers: tuple[str, ...]) -> Unit:
    return Unit(
        id=uid, name=name, kind=kind, jurisdiction_id=j.id, tier=j.tier,
        department_type=dtype, fields=fields, covers=covers,
    )
