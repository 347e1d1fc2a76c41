"""The field classifier (谁主管谁负责): which field a post is about, how sure, and why.

>>> clf = FieldClassifier.from_settings(load_settings())  # doctest: +SKIP
>>> p = clf.predict("小区停水三天没人管", title="长安区某小区停水")  # doctest: +SKIP
>>> p.label, p.field_id, p.needs_review  # doctest: +SKIP
('城乡建设', 'urban_rural_construction', False)

The model predicts training labels; ``config/classifier.yaml`` maps each label to a field id of
the org directory. Below ``settings.classifier.min_confidence`` (or for an empty text, or a label
with no field) the post is flagged for human 研判 rather than routed on a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from huiyin.classifier.linear import LinearTextModel
from huiyin.classifier.model_io import ModelError, load_state, save_state
from huiyin.classifier.tokenize import DEFAULT_BACKEND, Backend
from huiyin.config.errors import ConfigError
from huiyin.config.settings import Settings

LABELS_FILE = "classifier.yaml"
DEFAULT_MODEL = "field.skops"


@dataclass(frozen=True)
class FieldPrediction:
    """What the field classifier says about one post."""

    label: str | None  # training label (None: nothing to judge)
    field_id: str | None  # org directory field id (None: label not mapped, or nothing to judge)
    probability: float  # calibrated probability of ``label``
    top: tuple[tuple[str, str | None, float], ...]  # up to 3 (label, field id, probability), best first
    needs_review: bool  # True: a person must decide (研判), do not route on this guess
    evidence: tuple[tuple[str, float], ...]  # (word or n-gram, weight towards ``label``)
    reason: str  # one line in Chinese, e.g. for the routing reasons


def package_model_path(name: str = DEFAULT_MODEL) -> Path:
    """Path of a model shipped in ``huiyin.classifier/models``."""
    return Path(str(resources.files("huiyin.classifier").joinpath("models", name)))


def load_model(path: Path | str | None = None, *, backend: Backend = DEFAULT_BACKEND, task: str = "field") -> LinearTextModel:
    """Load a model file (default: the one shipped with the package) after checking its checksum."""
    path = Path(path) if path else package_model_path(f"{task}.skops")
    model = LinearTextModel.from_state(load_state(path), backend=backend)
    found = model.metadata.get("task")
    if found and found != task:
        raise ModelError(f"模型类型不符 {path} is a {found!r} model, expected {task!r}")
    return model


def save_model(model: LinearTextModel, path: Path | str) -> str:
    """Save with skops + ``.sha256``; returns the checksum."""
    return save_state(model.to_state(), Path(path))


def load_label_map(path: Path) -> dict[str, str]:
    """``labels:`` of config/classifier.yaml: training label → field id."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        labels = data.get("labels") or {}
        if not isinstance(labels, dict):
            raise TypeError("labels must be a mapping")
        return {str(k): str(v) for k, v in labels.items() if v}
    except (OSError, yaml.YAMLError, TypeError, AttributeError) as exc:
        raise ConfigError(f"分类配置无效 invalid classifier configuration: {exc}", key="labels", source=str(path)) from None


class FieldClassifier:
    """A field model with its label → field map and confidence threshold."""

    def __init__(self, model: LinearTextModel, label_map: Mapping[str, str], min_confidence: float = 0.55) -> None:
        self.model = model
        self.label_map = dict(label_map)
        self.min_confidence = min_confidence

    @classmethod
    def from_settings(cls, settings: Settings) -> FieldClassifier:
        """Model (settings.classifier.model_path or the shipped one), map and threshold from settings."""
        cfg = settings.classifier
        model = load_model(cfg.model_path, backend=cfg.tokenizer)
        return cls(model, load_label_map(settings.config_file(LABELS_FILE)), cfg.min_confidence)

    def predict(self, text: str | None, title: str | None = None, *, evidence: bool = True) -> FieldPrediction:
        """Field of one post. Without ``title``, a short first line of ``text`` is taken as title."""
        if not ((text or "").strip() or (title or "").strip()):
            return FieldPrediction(None, None, 0.0, (), True, (), "文本为空，无法判断领域，需人工研判")
        analysis = self.model.analyse(title, text)
        proba = analysis.proba
        order = proba.argsort()[::-1][:3]
        labels = self.model.labels
        top = tuple((labels[i], self.label_map.get(labels[i]), round(float(proba[i]), 4)) for i in order)
        best = int(order[0])
        label, p = labels[best], float(proba[best])
        field_id = self.label_map.get(label)
        words = tuple(self.model.evidence(analysis, best)) if evidence else ()
        shown = "、".join(f"「{w}」" for w, _ in words[:5])
        if field_id is None:
            review, reason = True, f"标签「{label}」未配置对应领域（config/classifier.yaml），需人工研判"
        elif p < self.min_confidence:
            review = True
            reason = f"领域「{label}」置信度 {p:.2f} 低于阈值 {self.min_confidence:.2f}，需人工研判；依据{shown or '无'}"
        else:
            review = False
            reason = f"领域「{label}」（置信度 {p:.2f}）依据{shown or '无'}"
        return FieldPrediction(label, field_id, round(p, 4), top, review, words, reason)

    def predict_many(
        self, texts: Sequence[str | None], titles: Sequence[str | None] | None = None, *, evidence: bool = True
    ) -> list[FieldPrediction]:
        """``predict`` for a batch (same results as one by one)."""
        titles = titles if titles is not None else [None] * len(texts)
        return [self.predict(t, h, evidence=evidence) for t, h in zip(texts, titles)]
