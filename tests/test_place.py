"""Place (属地管理): gazetteer over the real org directory, disambiguation, outside places, no place."""

from __future__ import annotations

import pytest

from tests.classifier_support import jid, rules_judge


def locate(text: str, hint: str | None = None):  # type: ignore[no-untyped-def]
    return rules_judge().locator.locate(text, hint)


def model(result):  # type: ignore[no-untyped-def]
    return rules_judge().locator.place_model(result)


def test_county_resolves_to_its_city_and_province() -> None:
    r = locate("正定县某镇征地补偿不到位，村民多次反映无果")
    assert r.jurisdiction_id == "130123" and r.source == "text" and not r.needs_review
    p = model(r)
    assert (p.province, p.city, p.county, p.township) == ("河北省", "石家庄市", "正定县", None)


def test_township_resolves_to_its_county() -> None:
    r = locate("我在诸福屯街道住，楼下饭店油烟扰民")
    p = model(r)
    assert (p.city, p.county, p.township) == ("石家庄市", "正定县", "诸福屯街道")
    assert r.jurisdiction_id == jid("诸福屯街道")


def test_several_townships_give_their_county_and_keep_each_locality() -> None:
    r = locate("石家庄市长安区建北街道和青园街道多个小区停水三天")
    assert r.jurisdiction_id == "130102"
    assert set(r.localities) == {jid("建北街道"), jid("青园街道")}
    assert model(r).county == "长安区" and model(r).township is None


def test_bare_xinhua_district_is_ambiguous_and_flagged_not_guessed() -> None:
    r = locate("新华区某小区冬季供暖不热，室温只有十度")
    assert r.needs_review
    assert r.ambiguous == (("新华区", ("130105", "130902")),)
    assert r.jurisdiction_id == "130000"  # only what both candidates share is known
    assert any("2处" in reason and "人工研判" in reason for reason in r.reasons)


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("新华区某小区冬季供暖不热", "130100", "130105"),  # the source's city
        ("新华区某小区冬季供暖不热", "130900", "130902"),
        ("沧州新华区某小区冬季供暖不热", None, "130902"),  # qualified in the text
        ("我是沧州市的，新华区某小区冬季供暖不热", None, "130902"),  # another place in the text
        ("石家庄新华区某小区冬季供暖不热", "130900", "130105"),  # the text beats the hint
    ],
)
def test_xinhua_district_resolved_by_hint_or_by_another_place(text: str, hint: str | None, expected: str) -> None:
    r = locate(text, hint)
    assert r.jurisdiction_id == expected and not r.needs_review
    assert any("新华区" in reason and "确定为" in reason for reason in r.reasons)


def test_ambiguous_township_resolved_by_source_region() -> None:
    r = locate("河东街道垃圾好几天没人清运", "130100")
    assert model(r).county == "长安区" and model(r).township == "河东街道"


@pytest.mark.parametrize(
    ("text", "outside"),
    [("北京市朝阳区某小区物业乱收费", "北京市朝阳区"), ("西安市长安区郭杜街道道路破损", "陕西省西安市长安区")],
)
def test_places_outside_hebei_are_recognised(text: str, outside: str) -> None:
    r = locate(text)
    assert r.outside == (outside,) and r.source == "home" and r.needs_review
    assert any("河北省外" in reason for reason in r.reasons)


def test_hebei_place_wins_over_an_outside_mention() -> None:
    r = locate("我在北京打工，老家正定县的房子被强拆了")
    assert r.jurisdiction_id == "130123" and not r.needs_review


def test_no_place_uses_the_source_region_then_the_home_jurisdiction() -> None:
    assert (locate("小区暖气不热，物业不管", "130123").jurisdiction_id, locate("小区暖气不热", "130123").source) == (
        "130123",
        "hint",
    )
    r = locate("小区暖气不热，物业不管")
    assert r.jurisdiction_id == "130000" and r.source == "home"
    assert any("未识别到地名" in reason for reason in r.reasons)


def test_unknown_source_region_is_ignored_with_a_reason() -> None:
    r = locate("小区暖气不热", "999999")
    assert r.source == "home" and any("999999" in reason for reason in r.reasons)


@pytest.mark.parametrize("hint", ["长安区", "石家庄市长安区", "河北省石家庄市长安区"])
def test_source_region_given_by_a_unique_name_is_used(hint: str) -> None:
    r = locate("小区暖气不热，物业不管", hint)
    assert (r.jurisdiction_id, r.source) == (jid("石家庄市长安区"), "hint")


def test_source_region_given_by_an_ambiguous_name_is_not_used() -> None:
    r = locate("小区暖气不热", "新华区")
    assert r.source == "home"
    assert any("新华区" in reason and "2处" in reason and "未采用" in reason for reason in r.reasons)
    # The same name resolves a bare 新华区 in the text no better: it stays flagged.
    assert locate("新华区道路积水", "新华区").needs_review


@pytest.mark.parametrize(
    "text",
    [
        "于滨江新城拆迁安置小区项目",  # 迁安 (迁安市) inside 拆迁安置
        "连基本的健康保障都没有",  # 康保 (康保县) inside 健康保障
        "反映K7县松柏乡大同村养猪场",  # 柏乡 (柏乡县) inside 松柏乡
        "裕华路上的井盖丢了",  # a street named after 裕华区
        "东方市场的摊位乱收费",  # 东方市 (Hainan) + 场
    ],
)
def test_names_inside_other_words_are_not_places(text: str) -> None:
    assert locate(text).evidence == ()


def test_directly_administered_city_and_xiongan() -> None:
    assert model(locate("定州市开元镇")).county == "定州市"
    assert locate("保定定州").jurisdiction_id == "130682"  # 定州's civil-affairs parent binds
    p = model(locate("雄安新区容城县"))
    assert (p.city, p.county) == ("雄安新区", "容城县")


def test_context_city_does_not_make_a_second_locality() -> None:
    r = locate("我是保定人，在正定县诸福屯街道打工被欠薪")
    assert r.localities == (jid("诸福屯街道"),)


@pytest.mark.parametrize("text", ["", "😀😀😀🙏", "The water supply was cut for three days", "x" * 100_000])
def test_bad_input_gives_no_place(text: str) -> None:
    r = locate(text)
    assert r.source == "home" and r.evidence == ()
