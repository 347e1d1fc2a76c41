"""``TextBatch``: each post prepared once, counted exactly, and shared by models without changing them."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from huiyin.classifier.batch import MAX_ROWS, TextBatch
from huiyin.classifier.features import _BODY_SALT
from huiyin.classifier.field_model import load_model
from huiyin.classifier.text import char_keys

POSTS = [
    ("正定县停水", "小区停水三天，停水停电，物业不管。"),
    ("", "石家庄市长安区道路施工噪音扰民🙂🙂"),
    ("无正文", ""),
    ("", ""),
    ("Wi-Fi 2019-12-30", "ＡＢＣ　全角文字；半角 abc 3.5%"),
]


def test_ngram_counts_match_a_post_by_post_count() -> None:
    batch = TextBatch.of(POSTS)
    counted = batch.ngrams("body", 1, 3, _BODY_SALT)
    assert np.all(np.diff(counted.items.astype(np.float64)) >= 0)  # keys ascending, for the search
    got: dict[int, Counter] = {}
    for row, key, n in zip(counted.rows.tolist(), counted.items.tolist(), counted.counts.tolist()):
        got.setdefault(row, Counter())[key] += n
    for row, (title, body) in enumerate(batch.pairs):
        text = f"{title} {body}" if title else body
        assert got.get(row, Counter()) == Counter(char_keys(text, 1, 3, _BODY_SALT).tolist())


def test_word_counts_match_the_tokenizer() -> None:
    model = load_model()
    batch = TextBatch.of(POSTS)
    words = batch.words(model.tokenizer)
    for row, text in enumerate(batch.joined):
        mine = Counter({words.words[i]: n for r, i, n in zip(words.rows, words.items, words.counts) if r == row})
        assert mine == Counter(model.tokenizer.cut(text))


def test_a_shared_batch_gives_each_model_what_a_fresh_batch_gives() -> None:
    field, sentiment = load_model(), load_model(task="sentiment")
    shared = TextBatch.of(POSTS)
    field.predict_proba(shared)  # computes the body 1–3-grams; sentiment (1–2) reuses them
    assert np.allclose(sentiment.predict_proba(shared), sentiment.predict_proba(TextBatch.of(POSTS)), atol=1e-6)
    assert np.allclose(field.predict_proba(shared), field.predict_proba(POSTS), atol=1e-6)


def test_a_batch_has_a_size_limit_and_big_inputs_are_chunked() -> None:
    with pytest.raises(ValueError):
        TextBatch([("", "x")] * (MAX_ROWS + 1))
    field = load_model()
    x = field.tables.matrix(field.tokenizer, [("", "停水")] * (MAX_ROWS + 3))
    assert x.shape[0] == MAX_ROWS + 3 and x[MAX_ROWS + 2].nnz == x[0].nnz > 0
