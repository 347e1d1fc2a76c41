"""Negative-sentiment model: training on made-up data, the shipped model, odd input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from huiyin.classifier.field_model import package_model_path, save_model
from huiyin.classifier.sentiment import SentimentModel, read_emotions, train_sentiment
from tests.classifier_data import write_csv

ANGRY = ["气死了", "太过分", "愤怒", "垃圾", "无耻", "害怕", "担心", "难过", "心寒", "恶心"]
CALM = ["加油", "感谢", "点赞", "辛苦了", "致敬", "开心", "平安", "支持", "好消息", "温暖"]


def _rows(n: int = 60, seed: int = 2) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        angry = i % 2 == 0
        words = rng.sample(ANGRY if angry else CALM, 3)
        rows.append({"id": str(i), "label": rng.choice(["angry", "sad", "fear"]) if angry else rng.choice(["happy", "neural"]),
                     "content": f"今天{words[0]}，{words[1]}！{rng.randint(1, 999)}号{words[2]}"})
    return rows


def test_train_and_predict(tmp_path: Path) -> None:
    data = read_emotions(write_csv(tmp_path / "smp.csv", _rows()))
    assert set(data.labels) == {"negative", "other"}
    model, held = train_sentiment(data, alphas=(1.0,))
    assert held["accuracy"] > 0.8 and "validation" in model.metadata["metrics"]
    path = tmp_path / "s.skops"
    save_model(model, path)
    scorer = SentimentModel.load(path)
    bad = scorer.predict("太过分了，真是气死了，无耻！")
    good = scorer.predict("辛苦了，感谢，致敬！")
    assert bad.negative and bad.score > good.score and not good.negative
    assert bad.evidence and all(w for w, _ in bad.evidence)


@pytest.mark.parametrize("text", ["", "😡😡😡", "This is terrible!", "气" * 100_000])
def test_shipped_model_and_odd_input(text: str) -> None:
    if not package_model_path("sentiment.skops").exists():
        pytest.fail("the shipped sentiment model is missing: build it as classifier/models/README.md says")
    scorer = SentimentModel.load()
    result = scorer.predict(text)
    assert 0.0 <= result.score <= 1.0
    assert scorer.model.metadata["metrics"]["validation"]["macro_f1"] > 0.5
