"""``TextBatch`` and the compiled feature loop: each post prepared once, featurised exactly as a
plain post-by-post computation (the one training's vocabularies come from), shared by models."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from huiyin.classifier.batch import CHUNK, TextBatch
from huiyin.classifier.features import _BODY_SALT, _TITLE_SALT, FeatureTables
from huiyin.classifier.field_model import load_model
from huiyin.classifier.text import char_keys
from huiyin.classifier.tokenize import Tokenizer

POSTS = [
    ("正定县停水", "小区停水三天，停水停电，物业不管。"),
    ("", "石家庄市长安区道路施工噪音扰民🙂🙂"),
    ("无正文", ""),
    ("", ""),
    ("Wi-Fi 2019-12-30", "ＡＢＣ　全角文字；半角 abc 3.5%"),
    ("", "坏字符\ud800照样处理，𠮷字在基本平面之外"),
    ("", "停水" * 400),
]


def reference_row(tables: FeatureTables, tokenizer, title: str, body: str) -> dict[int, float]:  # type: ignore[no-untyped-def]
    """Column → value of one post, by the textbook definition: sublinear tf × idf, per-block L2."""
    _, o_body, o_title, _ = tables.offsets
    idf = np.concatenate([tables.word_idf, tables.body_idf, tables.title_idf]).astype(np.float64)
    counts: Counter[int] = Counter()
    for word, n in Counter(tokenizer.words(f"{title}。{body}" if title else body)).items():
        if word in tables.words:
            counts[tables.words[word]] += n
    for text, keys, ngrams, salt, offset in (
        (f"{title} {body}" if title else body, tables.body_keys, tables.body_ngrams, _BODY_SALT, o_body),
        (title, tables.title_keys, tables.title_ngrams, _TITLE_SALT, o_title),
    ):
        position = {int(k): i for i, k in enumerate(keys.tolist())}
        for key, n in Counter(char_keys(text, *ngrams, salt).tolist()).items():
            if key in position:
                counts[offset + position[key]] += n
    values = {c: (1.0 + np.log(n)) * idf[c] for c, n in counts.items()}
    norms = Counter()
    for c, v in values.items():
        norms[(c >= o_body) + (c >= o_title)] += v * v
    return {c: v / np.sqrt(norms[(c >= o_body) + (c >= o_title)]) for c, v in values.items()}


def test_compiled_features_equal_the_textbook_computation() -> None:
    for model in (load_model(), load_model(task="sentiment")):
        batch = TextBatch.of(POSTS)
        indptr, indices, data = model.tables.rows(model.tokenizer, batch)
        for row, (title, body) in enumerate(batch.pairs):
            got = dict(zip(indices[indptr[row] : indptr[row + 1]].tolist(), data[indptr[row] : indptr[row + 1]].tolist()))
            want = reference_row(model.tables, model.tokenizer, title, body)
            assert got.keys() == want.keys(), (row, title, body)
            assert all(abs(got[c] - want[c]) < 1e-6 for c in want)
        assert indptr[3] == indptr[4]  # the empty post has no features


@pytest.mark.parametrize("backend", ["compiled", "rjieba"])
def test_tokens_cover_each_text_and_are_the_tokenizers(backend: str) -> None:
    tokenizer = Tokenizer(backend)  # type: ignore[arg-type]
    batch = TextBatch.of(POSTS)
    tokens = batch.tokens(tokenizer)
    assert batch.tokens(tokenizer) is tokens  # cut once
    for row, text in enumerate(batch.joined):
        span = range(tokens.post[row], tokens.post[row + 1])
        words = [tokens.cp[tokens.start[j] : tokens.end[j]].tobytes().decode("utf-32-le") for j in span]
        assert words == tokenizer.cut(text)
        assert "".join(words) == text


def test_a_shared_batch_gives_each_model_what_a_fresh_batch_gives() -> None:
    field, sentiment = load_model(), load_model(task="sentiment")
    shared = TextBatch.of(POSTS)
    field.predict_proba(shared)
    assert np.allclose(sentiment.predict_proba(shared), sentiment.predict_proba(TextBatch.of(POSTS)), atol=1e-6)
    assert np.allclose(field.predict_proba(shared), field.predict_proba(POSTS), atol=1e-6)


def test_big_inputs_are_featurised_in_chunks() -> None:
    field = load_model()
    x = field.tables.matrix(field.tokenizer, [("", "停水")] * (CHUNK + 3))
    assert x.shape[0] == CHUNK + 3 and x[CHUNK + 2].nnz == x[0].nnz > 0


def test_two_models_scored_in_one_pass_get_what_each_gets_alone() -> None:
    field, sentiment = load_model(), load_model(task="sentiment")
    together, alone = TextBatch.of(POSTS), TextBatch.of(POSTS)
    assert field.score_together(sentiment, together)
    for model in (field, sentiment):
        joint, own = model._scores_and_rows(together), model._scores_and_rows(alone)
        assert np.array_equal(joint[0], own[0])
        assert all(np.array_equal(a, b) for a, b in zip(joint[1], own[1]))
    # Models cut by different tokenizers are left to score on their own.
    other = load_model(task="sentiment", backend="jieba")
    assert not field.score_together(other, TextBatch.of(POSTS))
