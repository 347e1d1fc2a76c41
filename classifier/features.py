"""TF-IDF features of a post: words of title+body, character n-grams of body and of title.

Three blocks, each TF-IDF weighted (sublinear tf, smooth idf) and L2-normalised on its own, then
concatenated — so the title counts as much as the whole body (titles say what a 留言 is about):

- ``word``: word unigrams of title and body from the tokenizer (stop words removed);
- ``body``: character n-grams (default 1–3) of title and body;
- ``title``: character n-grams (default 1–4) of the title.

``PostFeaturizer`` is a scikit-learn transformer (used in pipelines, grid search and CV);
``FeatureTables`` is what it learned, plain arrays, shared with the compact predictor so that
training and prediction compute features with the same code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from huiyin.classifier.text import char_keys, title_and_body
from huiyin.classifier.tokenize import Backend, Tokenizer

Post = tuple[str, str]  # (title, body); the title may be empty
_BODY_SALT, _TITLE_SALT = 11, 23


@lru_cache(maxsize=8)
def shared_tokenizer(backend: Backend, extra_words: tuple[str, ...]) -> Tokenizer:
    """One tokenizer per (backend, user words): building one loads a dictionary."""
    return Tokenizer(backend, extra_words)


@dataclass
class FeatureTables:
    """Vocabularies and idf weights of the three blocks (all plain arrays)."""

    words: dict[str, int]
    word_idf: np.ndarray
    body_keys: np.ndarray  # sorted uint64 n-gram keys
    body_idf: np.ndarray
    title_keys: np.ndarray
    title_idf: np.ndarray
    body_ngrams: tuple[int, int]
    title_ngrams: tuple[int, int]

    @property
    def offsets(self) -> tuple[int, int, int, int]:
        """Column offsets of the blocks: word, body, title, end."""
        a = len(self.words)
        b = a + len(self.body_keys)
        return 0, a, b, b + len(self.title_keys)

    def featurize(self, tokenizer: Tokenizer, title: str, body: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of one normalised post; columns ascending and unique."""
        _, o_body, o_title, _ = self.offsets
        words = self.words
        wcols = [c for c in map(words.get, tokenizer.words(f"{title}。{body}" if title else body)) if c is not None]
        parts = [_block(np.asarray(wcols, dtype=np.int64), self.word_idf, 0)]
        text = f"{title} {body}" if title else body
        parts.append(_keyed(char_keys(text, *self.body_ngrams, _BODY_SALT), self.body_keys, self.body_idf, o_body))
        if title:
            parts.append(_keyed(char_keys(title, *self.title_ngrams, _TITLE_SALT), self.title_keys, self.title_idf, o_title))
        cols = np.concatenate([p[0] for p in parts])
        vals = np.concatenate([p[1] for p in parts])
        return cols, vals

    def matrix(self, tokenizer: Tokenizer, posts: Sequence[Post]) -> sp.csr_matrix:
        """CSR matrix of normalised posts."""
        indptr = [0]
        cols_all, vals_all = [], []
        for title, body in posts:
            cols, vals = self.featurize(tokenizer, title, body)
            cols_all.append(cols)
            vals_all.append(vals)
            indptr.append(indptr[-1] + len(cols))
        n_cols = self.offsets[3]
        if not cols_all:
            return sp.csr_matrix((0, n_cols), dtype=np.float32)
        return sp.csr_matrix(
            (np.concatenate(vals_all), np.concatenate(cols_all), np.asarray(indptr)), shape=(len(posts), n_cols)
        )


def _block(cols: np.ndarray, idf: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    if cols.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    uniq, counts = np.unique(cols, return_counts=True)
    vals = (1.0 + np.log(counts)) * idf[uniq]
    norm = float(np.sqrt(np.dot(vals, vals)))
    return uniq + offset, (vals / norm if norm > 0 else vals).astype(np.float32)


def _keyed(keys: np.ndarray, table: np.ndarray, idf: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    if keys.size == 0 or table.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    # Unique (sorted) keys first: fewer needles, and numpy's binary search is much faster
    # on sorted needles (it starts from the previous hit) — this is the hot spot of prediction.
    uniq, counts = np.unique(keys, return_counts=True)
    pos = np.searchsorted(table, uniq)
    pos[pos >= table.size] = 0
    hit = table[pos] == uniq
    cols, counts = pos[hit], counts[hit]
    if cols.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    vals = (1.0 + np.log(counts)) * idf[cols]
    norm = float(np.sqrt(np.dot(vals, vals)))
    return cols + offset, (vals / norm if norm > 0 else vals).astype(np.float32)


def _idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    return (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)


class PostFeaturizer(BaseEstimator, TransformerMixin):
    """scikit-learn transformer: ``(title, body)`` pairs → TF-IDF CSR matrix."""

    def __init__(
        self,
        *,
        body_ngrams: tuple[int, int] = (1, 3),
        title_ngrams: tuple[int, int] = (1, 4),
        min_df: int = 2,
        backend: Backend = "rjieba",
        extra_words: tuple[str, ...] = (),
    ) -> None:
        self.body_ngrams = body_ngrams
        self.title_ngrams = title_ngrams
        self.min_df = min_df
        self.backend = backend
        self.extra_words = extra_words

    @property
    def tokenizer(self) -> Tokenizer:
        return shared_tokenizer(self.backend, tuple(self.extra_words))

    def fit(self, posts: Sequence[Post], y: object = None) -> PostFeaturizer:
        posts = [title_and_body(t, b) for t, b in posts]
        tok = self.tokenizer
        word_df: Counter[str] = Counter()
        body, title = [], []
        for t, b in posts:
            word_df.update(set(tok.words(f"{t}。{b}" if t else b)))
            body.append(np.unique(char_keys(f"{t} {b}" if t else b, *self.body_ngrams, _BODY_SALT)))
            if t:
                title.append(np.unique(char_keys(t, *self.title_ngrams, _TITLE_SALT)))
        n = len(posts)
        kept = sorted(w for w, c in word_df.items() if c >= self.min_df)
        body_keys, body_df = _frequent(body, self.min_df)
        title_keys, title_df = _frequent(title, self.min_df)
        self.tables_ = FeatureTables(
            words={w: i for i, w in enumerate(kept)},
            word_idf=_idf(np.array([word_df[w] for w in kept], dtype=np.float64), n),
            body_keys=body_keys,
            body_idf=_idf(body_df, n),
            title_keys=title_keys,
            title_idf=_idf(title_df, n),
            body_ngrams=tuple(self.body_ngrams),  # type: ignore[arg-type]
            title_ngrams=tuple(self.title_ngrams),  # type: ignore[arg-type]
        )
        return self

    def transform(self, posts: Sequence[Post]) -> sp.csr_matrix:
        return self.tables_.matrix(self.tokenizer, [title_and_body(t, b) for t, b in posts])


def _frequent(per_doc: list[np.ndarray], min_df: int) -> tuple[np.ndarray, np.ndarray]:
    if not per_doc:
        return np.empty(0, np.uint64), np.empty(0, np.float64)
    keys, df = np.unique(np.concatenate(per_doc), return_counts=True)
    keep = df >= min_df
    return keys[keep], df[keep].astype(np.float64)
