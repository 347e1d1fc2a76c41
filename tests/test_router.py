"""Routing rules (分级负责) on realistic Hebei posts, over the real org directory.

The field a post is about is an input of the rules: these tests give it (as the classifier
would) so that each rule is tested on its own; ``test_whole_judgement_*`` at the end run the
package's field model too.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.classifier_support import given, jid, model_judge, rules_judge
from huiyin.classifier.router import RULES
from huiyin.responder.bus.messages import Routing


def route(text: str, field_id: str | None, *, hint: str | None = None, p: float = 0.9, review: bool = False,
          **counts: Any) -> Routing:
    j = rules_judge()
    place = j.locator.locate(text, hint)
    severity = j.grader.grade(text)
    signals = {"rumour": j.signals.rumour(text), "heat": j.signals.heat(**counts)}
    return j.router.route(given(field_id, p, review), place, severity, j.router.named_departments(text), signals)


def names(r: Routing) -> list[str]:
    return list(r.co_unit_names)


# -- single_unit ---------------------------------------------------------------------------------
def test_single_township_in_its_remit_is_the_first_responsible_unit() -> None:
    r = route("正定县诸福屯街道征地补偿款迟迟不发，村民多次反映无果", "land_expropriation")
    assert (r.rule, r.unit_name, r.tier) == ("single_unit", "诸福屯街道办事处", "township")
    assert r.co_unit_ids == [] and not r.needs_review
    assert r.coordinating_unit_names == ["石家庄市正定县自然资源和规划局"]  # type: ignore[attr-defined]
    assert any("第一责任主体" in x and "003" in x for x in r.reasons)
    assert r.place.township == "诸福屯街道" and r.field == "征地补偿"


def test_single_county_goes_to_the_county_department_in_charge() -> None:
    r = route("正定县某镇征地补偿不到位，补偿标准比邻村低一半", "land_expropriation")
    assert (r.rule, r.unit_id, r.tier) == ("single_unit", "130123.natural_resources", "county")
    assert r.unit_name == "石家庄市正定县自然资源和规划局" and r.lead_unit_name == r.unit_name


def test_township_matter_outside_its_remit_goes_to_the_county_department() -> None:
    r = route("正定县诸福屯街道派出所办理户口迁移，跑了五趟还不给办", "household_registration")
    assert (r.rule, r.unit_name) == ("single_unit", "石家庄市正定县公安局")
    assert any("不属乡镇/街道职责" in x for x in r.reasons)


def test_city_level_matter_goes_to_the_city_department() -> None:
    r = route("石家庄市公租房摇号结果迟迟不公布", "affordable_housing")
    assert (r.rule, r.unit_name, r.tier) == ("single_unit", "石家庄市住房和城乡建设局", "city")


# -- multi_township / multi_locality ------------------------------------------------------------
def test_several_streets_of_one_district() -> None:
    r = route("石家庄市长安区建北街道和青园街道多个小区停水三天，没有任何通知", "municipal_services")
    assert r.rule == "multi_township"
    assert r.unit_name == "石家庄市长安区城市管理综合行政执法局" and r.tier == "county"
    assert names(r) == ["建北街道办事处", "青园街道办事处"]
    assert r.place.county == "长安区" and r.place.township is None
    assert any("涉及2个乡镇/街道" in x for x in r.reasons)


def test_several_counties_of_one_city() -> None:
    r = route("正定县和灵寿县交界处的石料厂粉尘污染严重，附近村民不敢开窗", "environmental_protection")
    assert (r.rule, r.unit_name, r.tier) == ("multi_locality", "石家庄市生态环境局", "city")
    assert names(r) == ["正定县人民政府", "灵寿县人民政府"]


# -- multi_department ---------------------------------------------------------------------------
def test_departments_passing_the_buck_are_routed_together_with_a_lead() -> None:
    r = route("正定县某小区停水一周，住建局说归城管局管，城管局又推给住建局", "municipal_services")
    assert r.rule == "multi_department"
    assert r.unit_name == "石家庄市正定县城市管理综合行政执法局"
    assert names(r) == ["石家庄市正定县住房和城乡建设局"]
    assert any("牵头" in x and "住建局" in x for x in r.reasons)


def test_a_second_likely_field_of_another_department_is_a_co_unit() -> None:
    j = rules_judge()
    text = "正定县诸福屯街道一养殖场污水直排农田"
    fd = given("environmental_protection").__class__(
        "environmental_protection", 0.55, False, (), (("agriculture_rural", 0.35),)
    )
    r = j.router.route(fd, j.locator.locate(text), j.grader.grade(text), [], {})
    assert r.rule == "multi_department" and r.unit_name == "石家庄市正定县生态环境局"
    assert names(r) == ["石家庄市正定县农业农村局", "诸福屯街道办事处"]


# -- severity_tier --------------------------------------------------------------------------------
def test_major_accident_is_led_by_the_province() -> None:
    r = route("正定县一化工厂发生爆炸，已造成12人死亡，多人受伤", "work_safety")
    assert (r.rule, r.severity, r.unit_name, r.tier) == ("severity_tier", "重大", "河北省人民政府", "province")
    assert names(r) == ["河北省应急管理厅", "石家庄市人民政府", "正定县人民政府"]
    assert any("重大阈值10人" in x for x in r.reasons)


def test_especially_major_accident_notes_it_is_above_the_province() -> None:
    r = route("正定县一化工厂爆炸，死亡人数升至30人", "work_safety")
    assert r.severity == "特别重大" and r.unit_name == "河北省人民政府"
    assert r.above_province == "国务院"  # type: ignore[attr-defined]
    assert any("国务院" in x for x in r.reasons)


def test_larger_accident_is_led_by_the_city() -> None:
    r = route("长安区建北街道一工地塔吊倒塌，3名工人死亡", "work_safety")
    assert (r.rule, r.severity, r.unit_name) == ("severity_tier", "较大", "石家庄市人民政府")
    assert names(r) == ["石家庄市应急管理局", "长安区人民政府", "建北街道办事处"]


def test_general_incident_at_a_township_is_raised_to_the_county() -> None:
    r = route("正定县诸福屯街道一饭店燃气爆炸，2人受伤", "work_safety")
    assert (r.rule, r.severity, r.unit_name) == ("severity_tier", "一般", "石家庄市正定县应急管理局")
    assert names(r) == ["诸福屯街道办事处"]


def test_incident_without_place_uses_the_source_and_asks_for_review() -> None:
    r = route("某县化工厂爆炸造成12人死亡", "work_safety", hint="130123")
    assert (r.rule, r.unit_name) == ("severity_tier", "河北省人民政府") and r.needs_review
    assert any("来源属地" in x for x in r.reasons)


# -- no_place / needs_review / outside_directory ------------------------------------------------
def test_no_place_goes_to_the_publicity_office_of_the_source() -> None:
    r = route("小区暖气不热，打了好几次电话物业都不管", "municipal_services", hint="130123")
    assert (r.rule, r.unit_name, r.tier) == ("no_place", "正定县委宣传部（县委网信办）", "county") and r.needs_review
    home = route("小区暖气不热，打了好几次电话物业都不管", "municipal_services")
    assert (home.rule, home.unit_id) == ("no_place", "130000.publicity")


def test_ambiguous_place_needs_review_at_the_best_known_jurisdiction() -> None:
    r = route("新华区某小区冬季供暖不热，室温只有十度", "municipal_services")
    assert (r.rule, r.unit_id) == ("needs_review", "130000.publicity") and r.needs_review
    resolved = route("新华区某小区冬季供暖不热，室温只有十度", "municipal_services", hint="130900")
    assert (resolved.rule, resolved.unit_id) == ("single_unit", "130902.urban_management")
    assert resolved.place.city == "沧州市"


def test_low_confidence_field_needs_review() -> None:
    r = route("正定县这事到底归谁管", "municipal_services", p=0.31, review=True)
    assert (r.rule, r.unit_id, r.needs_review) == ("needs_review", "130123.publicity", True)


def test_place_outside_hebei_goes_to_the_home_publicity_office() -> None:
    r = route("北京市朝阳区某小区物业乱收费，业主投诉无门", "property_management")
    assert (r.rule, r.unit_id, r.needs_review) == ("outside_directory", "130000.publicity", True)
    assert r.place.outside == ["北京市朝阳区"]  # type: ignore[attr-defined]


# -- signals and determinism ----------------------------------------------------------------------
def test_rumour_post_is_routed_with_its_signal() -> None:
    j = rules_judge()
    r = j.judge({"text": "网传正定县自来水厂水源被污染，听说喝了会中毒，是谣言吗？", "reposts": 300, "likes": 1200})
    assert r.signals["rumour"]["flag"] and r.signals["rumour"]["words"] == ["网传", "听说", "谣言"]
    assert r.signals["heat"] == {**r.signals["heat"], "score": 83.1, "level": "极高"}  # 25·log10(1+1200+3·300)
    assert any("传言信号" in x and "澄清" in x for x in r.reasons)
    assert r.signals["sentiment"]["evidence"] == "情感模型不可用"


def test_every_rule_is_covered_and_decisions_are_deterministic() -> None:
    posts = [
        ("正定县诸福屯街道征地补偿款迟迟不发", "land_expropriation", None),
        ("石家庄市长安区建北街道和青园街道多个小区停水", "municipal_services", None),
        ("正定县和灵寿县交界处的石料厂粉尘污染严重", "environmental_protection", None),
        ("正定县某小区停水，住建局和城管局互相推诿", "municipal_services", None),
        ("正定县一化工厂发生爆炸，已造成12人死亡", "work_safety", None),
        ("小区暖气不热", "municipal_services", "130123"),
        ("新华区供暖不热", "municipal_services", None),
        ("北京市朝阳区某小区物业乱收费", "property_management", None),
    ]
    first = [route(t, f, hint=h).model_dump(mode="json") for t, f, h in posts]
    again = [route(t, f, hint=h).model_dump(mode="json") for t, f, h in posts]
    assert first == again
    assert {r["rule"] for r in first} == set(RULES)


# -- the whole judgement, with the package's field model ------------------------------------------
LAND = ("正定县诸福屯街道小营村征地补偿款迟迟不发放。2019年村里的土地被征收用于修路，按照协议每亩补偿款应在半年内"
        "发到村民手中，到现在两年过去了，村民多次找街道办和村委会，都说钱还没拨下来。请领导帮忙查一查补偿款去哪了。")


def test_whole_judgement_with_the_field_model() -> None:
    j = model_judge()
    land = j.judge({"text": LAND, "title": "征地补偿款两年未发放"})
    assert (land.rule, land.unit_name, land.field_id) == ("single_unit", "诸福屯街道办事处", "land_expropriation")
    assert land.confidence is not None and any("细分领域" in x for x in land.reasons)
    if j.signals.sentiment_model is not None:
        assert land.signals["sentiment"]["probability"] is not None
    water = j.judge({"text": "石家庄市长安区建北街道和青园街道多个小区停水三天，没有任何通知，老人孩子用水困难。"})
    assert (water.rule, water.field_id) == ("multi_township", "municipal_services")
    blast = j.judge({"text": "正定县一化工厂发生爆炸，已造成12人死亡"})
    assert (blast.rule, blast.unit_name, blast.field_id) == ("severity_tier", "河北省人民政府", "work_safety")


# -- field refinement (coarse training labels → the field that names the duty) -------------------
@pytest.mark.parametrize(
    ("coarse", "text", "fine"),
    [
        ("urban_rural_construction", "长安区建北街道多个小区停水三天", "municipal_services"),
        ("urban_rural_construction", "正定县某镇征地补偿不到位，征地款至今未发", "land_expropriation"),
        ("labor_social_security", "公司拖欠农民工工资半年", "labor_disputes"),
        ("urban_rural_construction", "楼下工地夜间施工噪音扰民", "urban_rural_construction"),
        ("municipal_services", "正定县某镇征地补偿不到位，征地款至今未发", "municipal_services"),  # already fine
    ],
)
def test_coarse_fields_are_refined_by_keywords(coarse: str, text: str, fine: str) -> None:
    refined = rules_judge()._refine(given(coarse), text)
    assert refined.field_id == fine
    assert (refined.reasons[-1].startswith("细分领域")) == (coarse != fine)


def test_negative_sentiment_shows_the_words_behind_it() -> None:
    j = model_judge()
    assert j.signals.sentiment_model is not None, "the package ships a sentiment model"
    angry_post = {"text": ANGRY, "title": "停水三天没人管"}
    angry = j.judge(angry_post)
    s = angry.signals["sentiment"]
    assert s["negative"] is True and s["probability"] >= 0.5
    assert 1 <= len(s["words"]) <= 3 and all(len(w) >= 2 and w in ANGRY for w in s["words"])
    assert all(f"「{w}」" in s["evidence"] for w in s["words"])
    assert any(x.startswith("负面情绪") and s["words"][0] in x for x in angry.reasons)
    calm = j.judge({"text": "请问本市新生儿医保办理需要哪些材料？谢谢。"})
    assert calm.signals["sentiment"]["negative"] is False and calm.signals["sentiment"]["words"] == []
    # The batch gives each post the same verdict as judging it alone.
    both = j.judge_many([{"text": "请问本市新生儿医保办理需要哪些材料？谢谢。"}, angry_post])
    assert both[1].signals["sentiment"] == s and both[0].signals["sentiment"] == calm.signals["sentiment"]


ANGRY = "太气人了！小区停水三天，打了十几次电话没人管，物业和自来水公司互相推诿，简直欺负老百姓，愤怒！"


def test_routing_records_are_valid_models() -> None:
    """The router constructs its records without validation: they must validate all the same."""
    from huiyin.responder.bus.messages import Routing

    j = model_judge()
    for post in ({"text": LAND, "title": "征地补偿款两年未发放"}, {"text": ANGRY}, {"text": ""},
                 {"text": "石家庄市长安区建北街道和青园街道多个小区停水三天"}, {"text": "正定县一化工厂发生爆炸，已造成12人死亡"}):
        routing = j.judge(post)
        dumped = routing.model_dump(mode="json")
        assert Routing.model_validate(dumped).model_dump(mode="json") == dumped
