"""Adapters from the classifier package's models to what the judgement needs.

The field model and the sentiment model are built by ``huiyin.classifier`` (``classify train``);
this module turns their predictions into ``FieldDecision`` and ``SentimentScore`` values, and
answers None when a model is not available, so the judgement can say so instead of guessing.

Both adapters score a whole ``TextBatch`` in one vectorised call; the judgement gives both the
same batch, so a post is normalised, cut and hashed once for the two models. Neither asks for
the per-post ``evidence`` path, which costs more than the prediction itself: the words behind a
field come from the field keywords (``field_refine``), and the words behind a negative
sentiment from the batch's own feature rows (``LinearTextModel.word_evidence``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from huiyin.classifier.batch import TextBatch
from huiyin.classifier.router import FieldDecision
from huiyin.classifier.signals import SentimentPredictor, SentimentScore
from huiyin.config.errors import ConfigError
from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings

log = logging.getLogger(__name__)

# A batch of posts → one decision per post.
FieldPredictor = Callable[[TextBatch], list[FieldDecision]]


def load_field_predictor(settings: Settings, org: OrgDirectory) -> FieldPredictor | None:
    """The package's field model as a batch predictor, or None if it is not available."""
    from huiyin.classifier.field_model import FieldClassifier
    from huiyin.classifier.model_io import ModelError

    try:
        classifier = FieldClassifier.from_settings(settings)
    except (ModelError, ConfigError, OSError) as exc:
        log.warning("领域模型不可用 field model not available: %s", exc)
        return None
    model, threshold = classifier.model, classifier.min_confidence
    labels = list(model.labels)
    fields = [classifier.label_map.get(label) for label in labels]
    unknown = sorted({f for f in fields if f is not None and f not in org.fields})
    if unknown:
        log.warning("classifier.yaml names fields missing from the org directory: %s", unknown)
        fields = [f if f in org.fields else None for f in fields]

    def predict(batch: TextBatch) -> list[FieldDecision]:
        if not len(batch):
            return []
        proba = model.predict_proba(batch)
        # Rounded and converted to Python floats for the whole batch at once (per-value
        # ``round(float(...))`` calls cost more than the rest of this loop).
        top = np.argsort(-proba, axis=1, kind="stable")[:, :3]
        top_p = np.round(np.take_along_axis(proba, top, axis=1), 4).tolist()
        decisions = []
        for order, ps in zip(top.tolist(), top_p):
            best = order[0]
            label, field_id, p = labels[best], fields[best], ps[0]
            others = tuple((fields[i], q) for i, q in zip(order[1:], ps[1:]) if fields[i] is not None)
            if field_id is None:
                review, reason = True, f"标签「{label}」未配置对应领域（config/classifier.yaml），需人工研判"
            elif p < threshold:
                review, reason = True, f"领域「{label}」置信度 {p:.2f} 低于阈值 {threshold:.2f}，需人工研判"
            else:
                review, reason = False, f"领域「{label}」（模型置信度 {p:.2f}）"
            decisions.append(FieldDecision(field_id, p, review, (reason,), others))  # type: ignore[arg-type]
        return decisions

    predict.model = model  # type: ignore[attr-defined]  # for ``joint_scoring``
    return predict


def load_sentiment_predictor(settings: Settings) -> SentimentPredictor | None:
    """The package's sentiment model as a batch predictor, or None if it is not available."""
    from huiyin.classifier.model_io import ModelError
    from huiyin.classifier.sentiment import NEGATIVE, SentimentModel

    try:
        model = SentimentModel.load(backend=settings.classifier.tokenizer).model
    except (ModelError, ConfigError, OSError, ValueError) as exc:
        log.info("情感模型不可用 sentiment model not available: %s", exc)
        return None
    negative = list(model.labels).index(NEGATIVE)

    def predict(batch: TextBatch, threshold: float) -> list[SentimentScore]:
        if not len(batch):
            return []
        # Words behind the score only for the posts that come out negative (the others show none).
        all_proba, rows = model.proba_and_rows(batch)
        proba = all_proba[:, negative]
        flagged = np.flatnonzero(proba >= threshold).tolist()
        words = model.word_evidence(rows, negative, flagged) if flagged else {}
        return [SentimentScore("negative" if s >= threshold else "other", float(s),
                               tuple(w for w, _ in words.get(i, ()))) for i, s in enumerate(proba)]

    predict.model = model  # type: ignore[attr-defined]  # for ``joint_scoring``
    return predict


def joint_scoring(*predictors: object) -> Callable[[TextBatch], None] | None:
    """A step that scores a batch with the models behind two of these predictors in one pass
    (they then find their results in the batch), or None when there are not two such models
    sharing a tokenizer."""
    models = [m for m in (getattr(p, "model", None) for p in predictors) if m is not None]
    if len(models) != 2 or models[0].tokenizer is not models[1].tokenizer:
        return None
    first, second = models

    def prepare(batch: TextBatch) -> None:
        if len(batch):
            first.score_together(second, batch)

    return prepare
