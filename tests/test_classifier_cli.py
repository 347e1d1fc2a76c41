"""``huiyin classify``: train, evaluate (last line JSON), validation split, predict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huiyin.api.cli import app
from huiyin.classifier.field_model import load_model, package_model_path
from huiyin.classifier.model_io import checksum_path
from tests.classifier_data import make_rows, write_csv


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, ["--config-dir", "", "classify", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cli")
    data = write_csv(folder / "train.csv", make_rows())
    out = folder / "model.skops"
    _run("train", "--data", str(data), "--out", str(out), "--alphas", "1")
    return data, out


def test_train_writes_model_and_checksum(trained: tuple[Path, Path]) -> None:
    _, out = trained
    assert out.exists() and checksum_path(out).exists()
    assert load_model(out).metadata["alpha"] == 1.0


def test_train_block_weights_option(trained: tuple[Path, Path], tmp_path: Path) -> None:
    data, out = trained
    assert load_model(out).metadata["features"]["block_weights"] == [1.0, 2.0, 1.0]  # the default: body ×2
    other = tmp_path / "plain.skops"
    _run("train", "--data", str(data), "--out", str(other), "--alphas", "1", "--block-weights", "1,1,1")
    assert load_model(other).metadata["features"]["block_weights"] == [1.0, 1.0, 1.0]
    result = CliRunner().invoke(app, ["--config-dir", "", "classify", "train", "--data", str(data),
                                      "--out", str(tmp_path / "bad.skops"), "--block-weights", "1,2"])
    assert result.exit_code != 0 and not (tmp_path / "bad.skops").exists()


def test_evaluate_prints_json_last(trained: tuple[Path, Path]) -> None:
    data, out = trained
    last = json.loads(_run("evaluate", "--data", str(data), "--model", str(out)).strip().splitlines()[-1])
    assert {"accuracy", "macro_f1", "per_class"} <= set(last)
    assert set(last["per_class"]) == {"城建", "劳动", "教育", "环保"}
    assert {"precision", "recall", "f1", "support"} == set(last["per_class"]["城建"])
    assert last["accuracy"] > 0.9


def test_evaluate_validation_split(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", make_rows(per_label=25, seed=5))
    last = json.loads(_run("evaluate", "--data", str(data), "--split", "validation", "--alphas", "1").strip().splitlines()[-1])
    assert last["split"] == "validation" and 15 <= last["rows"] <= 30 and last["macro_f1"] > 0.5


def test_other_columns_and_labels(tmp_path: Path) -> None:
    rows = [{"text": f"{r['title']}\n{r['detail']}", "handler": r["label"] + "局"} for r in make_rows(per_label=15)]
    data = write_csv(tmp_path / "orders.csv", rows)
    out = tmp_path / "city.skops"
    _run("train", "--data", str(data), "--text-cols", "text", "--label-col", "handler", "--out", str(out), "--alphas", "1")
    assert load_model(out).labels == ["劳动局", "城建局", "教育局", "环保局"]


def test_evaluate_default_model_and_predict(trained: tuple[Path, Path]) -> None:
    if not package_model_path().exists():
        pytest.fail("the shipped field model is missing: build it as classifier/models/README.md says")
    data, _ = trained
    last = json.loads(_run("evaluate", "--data", str(data)).strip().splitlines()[-1])
    assert last["model"] == "shipped model" and "macro_f1" in last
    out = json.loads(_run("predict", "--title", "学校乱收费", "--text", "孩子的学校又要交补课费，家长很气愤").strip().splitlines()[-1])
    assert out["field"]["label"] == "教育文体" and 0.0 <= out["sentiment"]["score"] <= 1.0


def test_missing_column_is_a_clear_error(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", make_rows(per_label=3))
    result = CliRunner().invoke(app, ["--config-dir", "", "classify", "train", "--data", str(data), "--label-col", "x", "--out", str(tmp_path / "m")])
    assert result.exit_code != 0
