"""Shared, built-once parts for the classifier tests: the real org directory and configuration.

Building the gazetteer takes a second or two, so every test module shares one instance. The
field model is the package's own (``load_field_predictor``); tests that need it are skipped with
a clear reason while it has not been built.
"""

from __future__ import annotations

from functools import lru_cache

import pytest

from huiyin.classifier.judge import Judge
from huiyin.classifier.model_adapters import load_field_predictor
from huiyin.classifier.router import FieldDecision
from huiyin.config.org import OrgDirectory, from_settings
from huiyin.config.settings import Settings, load_settings


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings(config_dir="")


@lru_cache(maxsize=1)
def org() -> OrgDirectory:
    return from_settings(settings())


@lru_cache(maxsize=1)
def rules_judge() -> Judge:
    """The judgement with every rule-based part and no field model (the field is given by the test)."""
    return Judge.from_settings(settings(), org(), fields=None, sentiment=None)


@lru_cache(maxsize=1)
def model_judge() -> Judge:
    """The whole judgement with the package's field model; skips if the model is not built."""
    predictor = load_field_predictor(settings(), org())
    if predictor is None:
        pytest.skip("领域模型未构建 field model not built yet (huiyin classify train)")
    return Judge.from_settings(settings(), org(), fields=predictor)


def jid(name: str) -> str:
    """The id of the one jurisdiction with this (qualified) name: 石家庄市长安区, 建北街道."""
    found = org().find(name)
    assert len(found) == 1, f"{name}: {[j.id for j in found]}"
    return found[0].id


def given(field_id: str | None, probability: float = 0.9, needs_review: bool = False) -> FieldDecision:
    """A field decision as the classifier would make it (the input of the routing rules)."""
    return FieldDecision(field_id, probability, needs_review, (f"领域：{field_id}",))
