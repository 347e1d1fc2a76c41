"""Signals shown beside a routed post, each with its evidence: rumour, heat, negative sentiment.

- rumour: words that mark an unverified claim (网传, 辟谣, 谣言, 不实, 据传, 听说 …), with the
  phrase around each;
- heat: ``scale · log10(1 + likes + dislikes + w_c·comments + w_r·reposts)``, capped at 100
  (config/signals.yaml documents the weights and what the scores mean);
- sentiment: the classifier package's sentiment model when there is one; otherwise neutral with
  the reason 情感模型不可用 (never a guess presented as a finding).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from huiyin.config.errors import ConfigError
from huiyin.classifier.batch import TextBatch
from huiyin.classifier.keywords import KeywordMatcher

# Heat figures kept for this many distinct engagement counts (then forgotten, all at once).
HEAT_CACHE = 4096

log = logging.getLogger(__name__)


class SentimentScore(NamedTuple):
    """A sentiment model's verdict on one post."""

    label: str  # negative | other
    negative: float  # probability of negative sentiment
    words: tuple[str, ...] = ()  # words pushing towards negative (for negative posts)


# A sentiment predictor: (batch of posts, negative threshold) → one score per post.
SentimentPredictor = Callable[[TextBatch, float], list[SentimentScore]]
UNAVAILABLE = "情感模型不可用"


@dataclass(frozen=True)
class SignalConfig:
    """Settings of config/signals.yaml."""

    rumour_words: tuple[str, ...]
    heat_scale: float
    comments_weight: float
    reposts_weight: float
    heat_levels: tuple[tuple[str, float], ...]  # (label, lower bound), ascending
    negative_threshold: float

    @classmethod
    def load(cls, path: Path) -> SignalConfig:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            heat = data["heat"]
            levels = sorted(((str(k), float(v)) for k, v in heat["levels"].items()), key=lambda kv: kv[1])
            return cls(
                rumour_words=tuple(data["rumour"]["words"]),
                heat_scale=float(heat["scale"]),
                comments_weight=float(heat["comments_weight"]),
                reposts_weight=float(heat["reposts_weight"]),
                heat_levels=tuple(levels),
                negative_threshold=float(data["sentiment"]["negative_threshold"]),
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"信号配置无效 invalid signals configuration: {exc!r}", source=str(path)) from None


class SignalReader:
    """Computes the signals of posts; ``sentiment`` may be None (no model available)."""

    def __init__(self, config: SignalConfig, sentiment: SentimentPredictor | None = None) -> None:
        self.config = config
        self.sentiment_model = sentiment
        self._rumour = KeywordMatcher(config.rumour_words)
        c = config
        self._heat: dict[tuple[int, int, int, int], dict[str, Any]] = {}
        self._formula = f"{c.heat_scale:g}·log10(1+点赞+反对+{c.comments_weight:g}·评论+{c.reposts_weight:g}·转发)，上限100"

    def rumour(self, text: str) -> dict[str, Any]:
        """Rumour words found, each with the phrase around it."""
        words: list[str] = []
        evidence: list[str] = []
        for start, end, word in self._rumour.finditer(text):
            if word not in words:
                words.append(word)
                evidence.append(text[max(0, start - 8) : end + 12].replace("\n", " "))
        return {"flag": bool(words), "words": words, "evidence": evidence}

    def heat(self, likes: int = 0, dislikes: int = 0, comments: int = 0, reposts: int = 0) -> dict[str, Any]:
        """Heat score 0–100 from engagement counts, with the counts and the formula as evidence."""
        key = (likes, dislikes, comments, reposts)
        known = self._heat.get(key)
        if known is not None:
            return dict(known)  # counts repeat (most posts have none): same figures, own dict
        c = self.config
        likes, dislikes, comments, reposts = (max(0, int(v or 0)) for v in (likes, dislikes, comments, reposts))
        weighted = likes + dislikes + c.comments_weight * comments + c.reposts_weight * reposts
        score = min(100.0, round(c.heat_scale * math.log10(1 + weighted), 1))
        level = c.heat_levels[0][0]
        for label, lower in c.heat_levels:
            if score >= lower:
                level = label
        result = {
            "score": score,
            "level": level,
            "evidence": f"点赞{likes}、反对{dislikes}、评论{comments}、转发{reposts}",
            "formula": self._formula,
        }
        if len(self._heat) >= HEAT_CACHE:
            self._heat.clear()
        self._heat[key] = result
        return dict(result)

    def sentiment(self, batch: TextBatch, rows: Sequence[int], n: int) -> list[dict[str, Any]]:
        """Sentiment of ``n`` posts: those at ``rows`` are ``batch`` (in order), the others are empty.

        Neutral with the reason when no model is available."""
        if self.sentiment_model is None:
            return [{"label": "neutral", "negative": False, "probability": None, "evidence": UNAVAILABLE, "words": []}
                    for _ in range(n)]
        threshold = self.config.negative_threshold
        scored = self.sentiment_model(batch, threshold) if len(batch) else []
        results: list[dict[str, Any]] = [
            {"label": "other", "negative": False, "probability": None, "evidence": "文本为空", "words": []} for _ in range(n)
        ]
        for i, score in zip(rows, scored):
            p_negative = score.negative
            negative = p_negative >= threshold
            evidence = f"负面概率{p_negative:.2f}{'≥' if negative else '<'}阈值{threshold:g}"
            words = list(score.words) if negative else []
            if words:
                evidence += f"，依据{'、'.join(f'「{w}」' for w in words)}"
            results[i] = {
                "label": "negative" if negative else "other",
                "negative": negative,
                "probability": round(float(p_negative), 3),
                "evidence": evidence,
                "words": words,
            }
        return results
