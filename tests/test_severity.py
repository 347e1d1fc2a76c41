"""Severity: the national thresholds at every boundary, numerals, phrasing, non-incidents, config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.classifier_support import rules_judge, settings
from huiyin.classifier.severity import SeverityConfig, SeverityGrader, chinese_number


def grade(text: str):  # type: ignore[no-untyped-def]
    return rules_judge().grader.grade(text)


@pytest.mark.parametrize(
    ("deaths", "expected"),
    [(1, "一般"), (2, "一般"), (3, "较大"), (9, "较大"), (10, "重大"), (29, "重大"), (30, "特别重大"), (45, "特别重大")],
)
def test_death_thresholds(deaths: int, expected: str) -> None:
    r = grade(f"正定县一化工厂发生爆炸，已造成{deaths}人死亡")
    assert r.grade == expected and r.counts["deaths"] == deaths
    assert f"{deaths}人死亡" in r.evidence[0]


@pytest.mark.parametrize(
    ("injured", "expected"),
    [(9, "一般"), (10, "较大"), (49, "较大"), (50, "重大"), (99, "重大"), (100, "特别重大")],
)
def test_seriously_injured_thresholds(injured: int, expected: str) -> None:
    assert grade(f"高速公路多车相撞事故造成{injured}人重伤").grade == expected


def test_reasons_name_the_phrase_and_the_threshold() -> None:
    r = grade("某县化工厂爆炸造成12人死亡")
    assert r.grade == "重大" and r.level == "II"
    assert any("「12人死亡」" in x and "重大阈值10人" in x and "条例" in x for x in r.reasons)
    below = grade("车祸致2死")
    assert below.grade == "一般" and any("低于较大阈值" in x for x in below.reasons)


@pytest.mark.parametrize(
    ("text", "kind", "count"),
    [
        ("死亡3人", "deaths", 3),
        ("造成5人死亡", "deaths", 5),
        ("3名工人当场死亡", "deaths", 3),
        ("三人死亡", "deaths", 3),
        ("十二名矿工遇难", "deaths", 12),
        ("两人身亡", "deaths", 2),
        ("死亡人数已升至１２人", "deaths", 12),
        ("3死5伤", "deaths", 3),
        ("3死5伤", "seriously_injured", 5),
        ("受伤12人", "seriously_injured", 12),
        ("二十余人受伤", "seriously_injured", 20),
        ("5名矿工被困井下", "trapped", 5),
        ("直接经济损失约1200万元", "economic_loss_wan", 1200),
        ("损失1.2亿元", "economic_loss_wan", 12000),
    ],
)
def test_counts_in_many_forms(text: str, kind: str, count: int) -> None:
    assert grade("煤矿发生事故，" + text).counts[kind] == count


def test_a_rising_toll_keeps_the_largest_and_missing_count_as_deaths() -> None:
    assert grade("隧道坍塌，3人死亡，随后死亡人数升至10人").grade == "重大"
    r = grade("山体滑坡致1人死亡，失踪2人")
    assert r.counts["deaths"] == 3 and r.grade == "较大" and any("失踪计入死亡" in x for x in r.reasons)


def test_trapped_and_loss_thresholds() -> None:
    assert grade("透水事故12名矿工被困").grade == "重大"
    assert grade("仓库火灾，直接经济损失约1.5亿元").grade == "特别重大"


@pytest.mark.parametrize(
    "text",
    [
        "楼下广场舞噪音扰民，每天晚上到十点",
        "小区消防通道被占，存在火灾隐患",
        "这栋楼随时可能倒塌，请尽快排查",
        "九死一生才办下来的证",
        "",
    ],
)
def test_not_an_incident_has_no_grade(text: str) -> None:
    assert grade(text).grade is None


def test_an_incident_without_casualties_is_general_and_negations_do_not_count() -> None:
    r = grade("小区地下车库起火，工人未受伤，无人员伤亡")
    assert r.grade == "一般" and r.counts == {} and "起火" in r.reasons[0]


@pytest.mark.parametrize("n", [1, 12, 105, 20, 2, 35])
def test_chinese_numerals(n: int) -> None:
    words = {1: "一", 12: "十二", 105: "一百零五", 20: "二十", 2: "两", 35: "三十五"}
    assert chinese_number(words[n]) == n


def test_thresholds_come_from_configuration(tmp_path: Path) -> None:
    text = settings().config_file("severity.yaml").read_text(encoding="utf-8")
    stricter = tmp_path / "severity.yaml"
    stricter.write_text(text.replace("    deaths: 3\n", "    deaths: 2\n"), encoding="utf-8")
    grader = SeverityGrader(SeverityConfig.load(stricter))
    assert grader.grade("化工厂爆炸造成2人死亡").grade == "较大"
    assert grade("化工厂爆炸造成2人死亡").grade == "一般"
