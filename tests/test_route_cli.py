"""``huiyin route --input FILE.jsonl``: one JSON object per input line, errors in place, no side effects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huiyin.api.cli import app

REQUIRED = {"id", "unit_id", "unit_name", "tier", "field", "place", "severity", "lead_unit_name", "co_unit_names",
            "rule", "reasons"}
LINES = [
    json.dumps({"id": "p1", "title": "征地补偿不到位", "text": "正定县诸福屯街道征地补偿款迟迟不发，村民多次反映无果",
                "published_at": "2026-11-20T09:30:00+08:00"}, ensure_ascii=False),
    "{not json",
    json.dumps({"id": "p3", "title": "没有正文"}, ensure_ascii=False),
    json.dumps(["a", "list"]),
    json.dumps({"id": "p5", "text": "新华区某小区冬季供暖不热", "source_region": "130900"}, ensure_ascii=False),
    json.dumps({"id": "p6", "text": "正定县一化工厂发生爆炸，已造成12人死亡"}, ensure_ascii=False),
    json.dumps({"id": "p7", "text": ""}),
    json.dumps({"id": "p8", "text": "😀😀😀🙏🙏"}, ensure_ascii=False),
    json.dumps({"id": "p9", "text": "The water supply in our building was cut for three days."}),
    json.dumps({"id": "p10", "text": "正定县小区停水。" + "水" * 100_000}, ensure_ascii=False),
    "",
    json.dumps({"id": "p12", "text": "北京市朝阳区某小区物业乱收费", "error": "a key of the post, not an error"},
               ensure_ascii=False),
    json.dumps({"id": "p13", "text": "正定县小区停水\ud800三天"}),  # a lone surrogate from a broken escape
]


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    folder = tmp_path_factory.mktemp("route")
    data = folder / "posts.jsonl"
    data.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    out = subprocess.run([sys.executable, "-m", "huiyin.api.cli", "route", "--input", str(data)], capture_output=True,
                         text=True, cwd=folder, env=env, timeout=300)
    return out, folder


def rows(out: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_one_json_object_per_non_blank_line_in_input_order(routed) -> None:  # type: ignore[no-untyped-def]
    out, _ = routed
    assert out.returncode == 0, out.stderr
    got = rows(out)
    assert [r.get("id") for r in got] == ["p1", None, "p3", None, "p5", "p6", "p7", "p8", "p9", "p10", "p12", "p13"]


def test_routed_lines_carry_the_contract_fields(routed) -> None:  # type: ignore[no-untyped-def]
    got = {r["id"]: r for r in rows(routed[0]) if "error" not in r}
    for row in got.values():
        assert REQUIRED <= set(row), row
        assert set(row["place"]) >= {"province", "city", "county", "township"}
    assert got["p1"]["place"]["township"] == "诸福屯街道" and got["p1"]["tier"] in ("township", "county")
    assert got["p5"]["place"]["city"] == "沧州市"
    assert (got["p6"]["severity"], got["p6"]["rule"], got["p6"]["lead_unit_name"]) == ("重大", "severity_tier", "河北省人民政府")
    assert got["p12"]["rule"] == "outside_directory"
    assert got["p13"]["place"]["county"] == "正定县"


def test_bad_lines_print_an_error_object(routed) -> None:  # type: ignore[no-untyped-def]
    bad = {r["line"]: r for r in rows(routed[0]) if "error" in r and "line" in r}
    assert set(bad) == {2, 3, 4, 7}
    assert "JSON" in bad[2]["error"] and bad[3]["id"] == "p3" and "text" in bad[3]["error"]


def test_odd_texts_are_routed_for_review(routed) -> None:  # type: ignore[no-untyped-def]
    got = {r["id"]: r for r in rows(routed[0])}
    for pid in ("p8", "p9"):
        assert got[pid]["rule"] == "no_place" and got[pid]["needs_review"] is True
    assert got["p10"]["place"]["county"] == "正定县" and any("文本过长" in x for x in got["p10"]["reasons"])


def test_no_side_effects(routed) -> None:  # type: ignore[no-untyped-def]
    _, folder = routed
    assert sorted(p.name for p in folder.iterdir()) == ["posts.jsonl"]  # no var/, no database, no bus


def test_missing_input_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["route", "--input", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "无法读取输入文件" in result.output


def test_gbk_lines_are_read_and_undecodable_lines_reported(tmp_path: Path) -> None:
    data = tmp_path / "mixed.jsonl"
    post = {"id": "g1", "text": "正定县小区停水三天了"}
    data.write_bytes(b"\xef\xbb\xbf" + json.dumps({**post, "id": "u1"}, ensure_ascii=False).encode("utf-8") + b"\r\n"
                     + json.dumps(post, ensure_ascii=False).encode("gbk") + b"\n"
                     + b'{"id": "x", "text": "\xff\xfe\x80"}\n')
    result = CliRunner().invoke(app, ["route", "--input", str(data)])
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r.get("place", {}).get("county")) for r in got[:2]] == [("u1", "正定县"), ("g1", "正定县")]
    assert got[2]["line"] == 3 and "编码无法识别" in got[2]["error"]


def test_stdin_is_read_with_a_dash() -> None:
    line = json.dumps({"id": "s1", "text": "正定县小区停水三天了", "source_region": "正定县"}, ensure_ascii=False)
    result = CliRunner().invoke(app, ["route", "--input", "-"], input=line.encode("utf-8") + b"\n")
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert row["id"] == "s1" and row["place"]["county"] == "正定县"
