"""``huiyin org show`` and ``huiyin org stats`` on the shipped directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huiyin.api.cli import app


@pytest.fixture
def run(tmp_path: Path):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["--config-dir", str(tmp_path), "org", *args])

    return invoke


def test_show_jurisdiction_prints_its_chain(run) -> None:
    result = run("show", "长安区")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "【行政区划】长安区（县级，130102）" in out
    assert "全称：河北省石家庄市长安区" in out
    assert "属地链：长安区 → 石家庄市 → 河北省" in out
    assert "人民政府：长安区人民政府 [130102.gov]" in out
    assert "宣传部门：长安区委宣传部（区委网信办） [130102.publicity]" in out
    assert "长安区人民政府 → 石家庄市人民政府 → 河北省人民政府" in out


def test_show_department_prints_its_escalation_path(run) -> None:
    result = run("show", "长安区教育局")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "【单位】石家庄市长安区教育局 [130102.education]" in out
    assert "主管领域：" in out and "义务教育" in out
    assert "逐级上报：石家庄市长安区教育局 → 石家庄市教育局 → 河北省教育厅" in out
    assert "本级宣传部门：长安区委宣传部（区委网信办）" in out


def test_show_by_id_and_township(run) -> None:
    result = run("show", "130102001.gov")
    assert result.exit_code == 0, result.output
    assert "建北街道办事处 → 长安区人民政府 → 石家庄市人民政府 → 河北省人民政府" in result.stdout
    assert "全部" in result.stdout  # a township government answers for every field
    xiongan = run("show", "雄安")
    assert "雄安新区管理委员会" in xiongan.stdout and "3 个县级" in xiongan.stdout


def test_show_ambiguous_name_prints_every_candidate(run) -> None:
    result = run("show", "新华区")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "共 2 个" in out
    assert "河北省石家庄市新华区" in out and "河北省沧州市新华区" in out


def test_show_partial_unit_name_lists_matches(run) -> None:
    result = run("show", "消防救援大队")
    assert result.exit_code == 0
    assert "名称中含有" in result.stdout and "另有" in result.stdout


def test_stats_prints_counts(run) -> None:
    result = run("stats")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "省级 1，市级 12，县级 167，乡级 2254，村级 0" in out
    assert "其中省直管县级 2" in out
    assert "领域" in out and "试点领域 26" in out and "部门类型" in out


def test_unknown_name_exits_1_with_a_chinese_message() -> None:
    # The console entry point (what the `huiyin` script calls), in a fresh process.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    out = subprocess.run(
        [sys.executable, "-c", "from huiyin.api.cli import main; main()", "org", "show", "不存在的地方"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert out.returncode == 1
    assert "未找到「不存在的地方」" in out.stderr
