"""Reading org files: YAML documents merged in order, with ``override`` and ``remove``.

Every org file is a YAML mapping with any of these keys (see ``fields.yaml`` and ``hebei.yaml``)::

    version: 1
    remove:                      # applied first, so a file can drop an entry and define it afresh
      jurisdictions: ["130104"]  # removes the jurisdiction and everything below it
      fields: [tax_administration]
      department_types: [tax]
    department_types:
      - {id: education, name: 教育, names: {province: 教育厅, city: 教育局, county: 教育局}}
    fields:
      - {id: compulsory_education, name: 义务教育, pilot: true, department_type: education,
         parent: education_culture_sports, keywords: [入学, 学区]}
    jurisdictions:
      - {id: "130102", name: 长安区, tier: county, parent: "130100", aliases: [长安],
         children: ["130102001 建北街道", "130102002 青园街道"]}   # compact form: one tier down
      - id: xiongan
        name: 雄安新区
        tier: city
        parent: "130000"
        government_name: 雄安新区管理委员会        # instead of the derived 雄安新区人民政府
        publicity_name: 雄安新区党工委宣传网信部
        departments:                            # explicit departments (大部制 or special bureaus)
          - {type: public_service, name: 雄安新区公共服务局, covers: [education, health]}
      - {id: "130181", name: 辛集市, tier: county, parent: "130000", directly_administered: true,
         official_parent: "130100"}             # 省直管: a county-level unit under the province

Jurisdiction keys: ``tier`` is one of province/city/county/township/village and must be exactly
one below the parent's (except ``directly_administered``); ``aliases`` need 2+ characters;
``children`` lists "ID NAME" items one tier down. ``departments`` items: ``type`` (a department
type id; the same type as a standard department renames it, e.g. ``{type: public_security, name:
石家庄市公安局长安分局}``), ``name``, ``covers`` (types whose job this unit does here, so no
standard unit of those types is made) and ``fields`` (fields assigned to this unit here).
``standard_departments: false`` keeps only the explicit ones; fields without a unit then fall to
the government.

An id defined by an earlier file is an error unless the new entry says ``override: true``; then
its keys replace the earlier entry's keys (give only what changes; lists are replaced, not
appended, but ``children`` always adds entries). Ids are unique per section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from huiyin.config.errors import OrgDirectoryError
from huiyin.config.org.models import Tier

SECTIONS = ("department_types", "fields", "jurisdictions")
_TOP_KEYS = {"version", "remove", *SECTIONS}
_SECTION_LABELS = {"department_types": "部门类型", "fields": "领域", "jurisdictions": "行政区划"}
_ID_FIELDS = ("id", "parent", "official_parent")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster on hebei.yaml


# Ids are ASCII words: unit ids append ".gov", ".education" to a jurisdiction id.
Id = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]+$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DepartmentTypeEntry(_Entry):
    """A department type as written in a file."""

    id: Id
    name: Name
    names: dict[Tier, str] = {}


class FieldEntry(_Entry):
    """A field as written in a file."""

    id: Id
    name: Name
    pilot: bool = False
    department_type: Id
    keywords: tuple[str, ...] = ()
    parent: Id | None = None


class DepartmentEntry(_Entry):
    """An explicit department of one jurisdiction."""

    type: Id
    name: Name
    covers: tuple[str, ...] = ()  # other department types whose job this unit does here
    fields: tuple[str, ...] = ()  # fields assigned to this unit here, whatever their type


class JurisdictionEntry(_Entry):
    """A jurisdiction as written in a file."""

    id: Id
    name: Name
    tier: Tier
    parent: Id | None = None
    aliases: tuple[str, ...] = ()
    directly_administered: bool = False
    official_parent: str | None = None
    government_name: str | None = None
    publicity_name: str | None = None
    departments: tuple[DepartmentEntry, ...] = ()
    standard_departments: bool = True  # False: only the explicit departments exist here


_ENTRY_MODELS: dict[str, type[_Entry]] = {
    "department_types": DepartmentTypeEntry,
    "fields": FieldEntry,
    "jurisdictions": JurisdictionEntry,
}


@dataclass
class OrgSources:
    """All entries after merging the files, each with the file it (last) came from."""

    department_types: list[tuple[DepartmentTypeEntry, Path]] = field(default_factory=list)
    fields: list[tuple[FieldEntry, Path]] = field(default_factory=list)
    jurisdictions: list[tuple[JurisdictionEntry, Path]] = field(default_factory=list)


def read_org_files(paths: Sequence[Path]) -> OrgSources:
    """Parse and merge org files in order; raise OrgDirectoryError naming entry and file."""
    raw: dict[str, dict[str, tuple[dict[str, Any], Path]]] = {s: {} for s in SECTIONS}
    for path in paths:
        document = _read_yaml(path)
        _apply_removals(raw, document.get("remove"), path)
        for section in SECTIONS:
            entries = document.get(section) or []
            if not isinstance(entries, list):
                raise OrgDirectoryError(f"'{section}' 必须是列表 must be a list", key=section, source=str(path))
            for index, entry in enumerate(entries):
                nested = section == "jurisdictions" and isinstance(entry, dict)
                children = entry.pop("children", None) if nested else None
                _add_entry(raw[section], section, index, entry, path)
                if children is not None:
                    _add_children(raw[section], entry, children, path)
    sources = OrgSources()
    for section in SECTIONS:
        target = getattr(sources, section)
        model = _ENTRY_MODELS[section]
        for entry_id, (data, path) in raw[section].items():
            try:
                target.append((model.model_validate(data), path))
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(p) for p in first["loc"])
                raise OrgDirectoryError(
                    f"无效条目 invalid entry: {first['msg']}",
                    key=f"{section}[{entry_id}].{loc}" if loc else f"{section}[{entry_id}]",
                    source=str(path),
                ) from None
    return sources


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrgDirectoryError(f"无法读取组织目录文件 cannot read org file: {exc.strerror}", source=str(path)) from None
    try:
        document = yaml.load(text, Loader=_Loader) or {}
    except yaml.YAMLError as exc:
        raise OrgDirectoryError(f"YAML 语法错误 syntax error: {exc}", source=str(path)) from None
    if not isinstance(document, dict):
        raise OrgDirectoryError("组织目录文件必须是映射 org file must hold a mapping", source=str(path))
    unknown = set(document) - _TOP_KEYS
    if unknown:
        raise OrgDirectoryError(
            f"未知的顶层键 unknown top-level key(s): {', '.join(sorted(map(str, unknown)))}",
            key=str(sorted(map(str, unknown))[0]),
            source=str(path),
        )
    return document


def _add_entry(
    section_entries: dict[str, tuple[dict[str, Any], Path]], section: str, index: int, entry: Any, path: Path
) -> None:
    if not isinstance(entry, dict) or "id" not in entry:
        raise OrgDirectoryError(
            f"{_SECTION_LABELS[section]}条目缺少 id entry without an id", key=f"{section}[#{index}]", source=str(path)
        )
    data = {k: (str(v) if k in _ID_FIELDS and isinstance(v, int) else v) for k, v in entry.items()}
    override = data.pop("override", False)
    entry_id = data["id"]
    key = f"{section}[{entry_id}]"
    previous = section_entries.get(entry_id)
    if override is True:
        if previous is None:
            raise OrgDirectoryError(
                f"override 的{_SECTION_LABELS[section]}不存在 override of an unknown entry", key=key, source=str(path)
            )
        section_entries[entry_id] = ({**previous[0], **data}, path)
        return
    if previous is not None:
        where = "同一文件 the same file" if previous[1] == path else str(previous[1])
        raise OrgDirectoryError(
            f"重复的{_SECTION_LABELS[section]} id duplicate id '{entry_id}' (已在 already defined in {where}；"
            "如要修改请写 override: true)",
            key=key,
            source=str(path),
        )
    section_entries[entry_id] = (data, path)


def _add_children(
    section_entries: dict[str, tuple[dict[str, Any], Path]], entry: dict[str, Any], children: Any, path: Path
) -> None:
    """Expand the compact ``children: ["130102001 建北街道", ...]`` form into entries one tier down."""
    parent_id = str(entry["id"])
    key = f"jurisdictions[{parent_id}].children"
    try:
        tier = Tier(section_entries[parent_id][0]["tier"]).below
    except (KeyError, ValueError):
        tier = None
    if tier is None or not isinstance(children, list):
        raise OrgDirectoryError("children 需要列表和有效的上级层级 needs a list and a valid parent tier", key=key, source=str(path))
    for index, item in enumerate(children):
        child_id, _, name = str(item).partition(" ")
        if not name.strip():
            raise OrgDirectoryError("children 的条目应为「编码 名称」 item must be 'ID NAME'", key=f"{key}[{index}]",
                                    source=str(path))
        child = {"id": child_id, "name": name.strip(), "tier": tier.value, "parent": parent_id}
        _add_entry(section_entries, "jurisdictions", index, child, path)


def _apply_removals(raw: dict[str, dict[str, tuple[dict[str, Any], Path]]], remove: Any, path: Path) -> None:
    if remove is None:
        return
    if not isinstance(remove, dict) or set(remove) - set(SECTIONS):
        raise OrgDirectoryError(
            f"remove 只能包含 may only hold {', '.join(SECTIONS)}", key="remove", source=str(path)
        )
    for section, ids in remove.items():
        for entry_id in map(str, ids or []):
            if entry_id not in raw[section]:
                raise OrgDirectoryError(
                    f"要删除的{_SECTION_LABELS[section]}不存在 removing an unknown entry",
                    key=f"remove.{section}[{entry_id}]",
                    source=str(path),
                )
            if section == "jurisdictions":
                for descendant in _descendants(raw[section], entry_id):
                    del raw[section][descendant]
            del raw[section][entry_id]


def _descendants(entries: dict[str, tuple[dict[str, Any], Path]], root: str) -> list[str]:
    children: dict[str, list[str]] = {}
    for entry_id, (data, _) in entries.items():
        if data.get("parent") is not None:
            children.setdefault(str(data["parent"]), []).append(entry_id)
    found: list[str] = []
    stack = list(children.get(root, []))
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found
