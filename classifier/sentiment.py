"""Negative sentiment of a post (a signal beside routing), with the words behind it.

Trained on SMP2020-EWECT Weibo posts (6 emotions; ``angry``, ``sad`` and ``fear`` count as
negative, see config/classifier.yaml), optionally with extra weibo_senti_100k rows (emoticon
labels; 0 = negative). The model is the same linear text model as the field classifier, with two
classes ``negative`` / ``other``; its score is the calibrated probability of ``negative``.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from huiyin.classifier.field_model import load_model
from huiyin.classifier.grouping import grouped_split, near_copy_groups
from huiyin.classifier.linear import LinearTextModel
from huiyin.classifier.tokenize import DEFAULT_BACKEND, Backend
from huiyin.classifier.training import Dataset, TrainingError, evaluate, train

NEGATIVE, OTHER = "negative", "other"
DEFAULT_NEGATIVE_LABELS = ("angry", "sad", "fear")
# Words and character 1–2-grams of the whole text, no title block: on the grouped validation
# split this scored macro-F1 0.836 against 0.833 for the field model's blocks (1–3 body,
# 1–4 title) with a third of the features, and its n-grams are a subset of the field model's,
# so in the judgement it reuses the field model's hashing.
BODY_NGRAMS, TITLE_NGRAMS = (1, 2), (1, 0)


@dataclass(frozen=True)
class SentimentPrediction:
    """Negative-sentiment score of one post."""

    negative: bool  # score ≥ threshold
    score: float  # calibrated probability of negative sentiment
    evidence: tuple[tuple[str, float], ...]  # words pushing towards negative (when negative)


def read_emotions(path: Path, negative_labels: Sequence[str] = DEFAULT_NEGATIVE_LABELS,
                  text_col: str = "content", label_col: str = "label") -> Dataset:
    """SMP2020-EWECT-style CSV (``label``, ``content``) as a negative/other data set."""
    return _read(path, text_col, label_col, lambda v: NEGATIVE if v in set(negative_labels) else OTHER)


def read_polarity(path: Path, text_col: str = "review", label_col: str = "label") -> Dataset:
    """weibo_senti_100k-style CSV (``label`` 1 positive / 0 negative, ``review``)."""
    return _read(path, text_col, label_col, lambda v: NEGATIVE if v == "0" else OTHER)


def _read(path: Path, text_col: str, label_col: str, to_label) -> Dataset:  # type: ignore[no-untyped-def]
    raw = Path(path).read_bytes()
    csv.field_size_limit(sys.maxsize)
    rows = list(csv.DictReader(raw.decode("utf-8-sig", errors="replace").splitlines(keepends=True)))
    if rows and (text_col not in rows[0] or label_col not in rows[0]):
        raise TrainingError(f"CSV 缺少列 missing column {text_col!r} or {label_col!r} in {path}")
    bodies, labels = [], []
    for row in rows:
        text, value = (row.get(text_col) or "").strip(), (row.get(label_col) or "").strip()
        if text and value:
            bodies.append(text)
            labels.append(to_label(value))
    if not labels:
        raise TrainingError(f"CSV 中没有可用的行 no usable rows in {path}")
    return Dataset([""] * len(bodies), bodies, labels, hashlib.sha256(raw).hexdigest(), str(path), (text_col,), label_col)


def _concat(a: Dataset, b: Dataset) -> Dataset:
    return Dataset(a.titles + b.titles, a.bodies + b.bodies, a.labels + b.labels,
                   hashlib.sha256((a.sha256 + b.sha256).encode()).hexdigest(), f"{a.source}+{b.source}", a.text_cols, a.label_col)


def train_sentiment(
    emotions: Dataset, extra: Dataset | None = None, *, seed: int = 20260, backend: Backend = DEFAULT_BACKEND,
    alphas: Sequence[float] = (1.0, 3.0),
) -> tuple[LinearTextModel, dict]:
    """Validate on a grouped 20 % of ``emotions`` (trained on the rest + ``extra``), then train the
    shipped model on everything; the validation figures go into its metadata."""
    groups = near_copy_groups(emotions.titles, emotions.bodies)
    tr, va = grouped_split(emotions.labels, groups, seed=seed)
    part = emotions.subset(tr) if extra is None else _concat(emotions.subset(tr), extra)
    features = {"body_ngrams": BODY_NGRAMS, "title_ngrams": TITLE_NGRAMS}
    held = evaluate(train(part, backend=backend, alphas=alphas, task="sentiment", **features), emotions.subset(va))
    full = emotions if extra is None else _concat(emotions, extra)
    model = train(full, backend=backend, alphas=alphas, task="sentiment", **features)
    model.metadata["metrics"]["validation"] = {k: held[k] for k in ("rows", "accuracy", "macro_f1", "per_class")}
    model.metadata["metrics"]["validation_split"] = f"grouped 20% of {Path(emotions.source).name}, seed {seed}"
    model.metadata["extra_data"] = Path(extra.source).name if extra is not None else None
    return model, held


class SentimentModel:
    """Negative-sentiment scorer."""

    def __init__(self, model: LinearTextModel, threshold: float = 0.5) -> None:
        if NEGATIVE not in model.labels:
            raise TrainingError(f"not a sentiment model: labels {model.labels}")
        self.model = model
        self.threshold = threshold
        self._neg = model.labels.index(NEGATIVE)

    @classmethod
    def load(cls, path: Path | str | None = None, *, backend: Backend = DEFAULT_BACKEND, threshold: float = 0.5) -> SentimentModel:
        """The shipped model (``models/sentiment.skops``) unless ``path`` is given; checksum verified."""
        return cls(load_model(path, backend=backend, task="sentiment"), threshold)

    def predict(self, text: str | None) -> SentimentPrediction:
        """Score one text; empty text is not negative."""
        if not (text or "").strip():
            return SentimentPrediction(False, 0.0, ())
        analysis = self.model.analyse(None, text)
        score = float(analysis.proba[self._neg])
        negative = score >= self.threshold
        evidence = tuple(self.model.evidence(analysis, self._neg)) if negative else ()
        return SentimentPrediction(negative, round(score, 4), evidence)

    def predict_many(self, texts: Sequence[str | None]) -> list[SentimentPrediction]:
        return [self.predict(t) for t in texts]
