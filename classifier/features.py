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
from itertools import repeat

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from huiyin.classifier.text import char_keys, char_keys_many, title_and_body
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

    def __getstate__(self) -> dict:
        # The lookup caches hold a tokenizer (not picklable); they are rebuilt on first use.
        return {k: v for k, v in self.__dict__.items() if k not in ("_kept_words", "_idf_all")}

    def featurize(self, tokenizer: Tokenizer, title: str, body: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of one normalised post; columns ascending and unique."""
        _, cols, vals = self._rows(tokenizer, [(title, body)])
        return cols, vals

    def matrix(self, tokenizer: Tokenizer, posts: Sequence[Post]) -> sp.csr_matrix:
        """CSR matrix of normalised posts."""
        n_cols = self.offsets[3]
        if not posts:
            return sp.csr_matrix((0, n_cols), dtype=np.float32)
        indptr, cols, vals = self._rows(tokenizer, posts)
        return sp.csr_matrix((vals, cols, indptr), shape=(len(posts), n_cols))

    def _rows(self, tokenizer: Tokenizer, posts: Sequence[Post]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, columns, values) of a batch, vectorised over the whole batch.

        Every (post, column) hit of the three blocks becomes one int64 code ``row · n_cols + col``;
        a single ``np.unique`` of the codes counts the terms and sorts them row by row, column by
        column — the CSR layout — and the per-block norms are one ``bincount``.
        """
        n = len(posts)
        _, o_body, o_title, n_cols = self.offsets
        get = self._feature_words(tokenizer).get
        found: list[int] = []
        lens = []
        for title, body in posts:
            # Vocabulary words are all kept by ``tokenizer.words``, so looking the raw tokens up
            # in it gives the same columns without filtering stop words first (-1: not a feature).
            raw = tokenizer.cut(f"{title}。{body}" if title else body)
            found += map(get, raw, repeat(-1))
            lens.append(len(raw))
        wcols = np.asarray(found, dtype=np.int64)
        wcodes = np.repeat(np.arange(n, dtype=np.int64), lens) * n_cols + wcols
        codes = [wcodes[wcols >= 0]]
        bkeys, brows = char_keys_many([f"{t} {b}" if t else b for t, b in posts], *self.body_ngrams, _BODY_SALT)
        codes.append(_lookup(bkeys, brows, self.body_keys, n_cols, o_body))
        tkeys, trows = char_keys_many([t for t, _ in posts], *self.title_ngrams, _TITLE_SALT)
        codes.append(_lookup(tkeys, trows, self.title_keys, n_cols, o_title))
        code, counts = np.unique(np.concatenate(codes), return_counts=True)
        row = code // n_cols
        cols = code - row * n_cols
        vals = (1.0 + np.log(counts)) * self._all_idf[cols]
        group = row * 3 + (cols >= o_body) + (cols >= o_title)  # (post, block)
        norm = np.sqrt(np.bincount(group, weights=vals * vals, minlength=3 * n))[group]
        vals = np.divide(vals, norm, out=vals, where=norm > 0).astype(np.float32)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
        return indptr, cols, vals

    def _feature_words(self, tokenizer: Tokenizer) -> dict[str, int]:
        """``words`` without the entries ``tokenizer.words`` would drop (cached per tokenizer)."""
        cache = self.__dict__.setdefault("_kept_words", {})
        kept = cache.get(id(tokenizer))
        if kept is None or kept[0] is not tokenizer:
            kept = cache[id(tokenizer)] = (tokenizer, {w: c for w, c in self.words.items() if tokenizer.keeps(w)})
        return kept[1]

    @property
    def _all_idf(self) -> np.ndarray:
        """idf of every column (word, body, title blocks end to end)."""
        cached = self.__dict__.get("_idf_all")
        if cached is None or cached.shape[0] != self.offsets[3]:
            cached = self.__dict__["_idf_all"] = np.concatenate([self.word_idf, self.body_idf, self.title_idf])
        return cached


def _lookup(keys: np.ndarray, rows: np.ndarray, table: np.ndarray, n_cols: int, offset: int) -> np.ndarray:
    """Codes ``row · n_cols + offset + column`` of the keys found in the sorted ``table``."""
    if keys.size == 0 or table.size == 0:
        return np.empty(0, np.int64)
    # One search for the whole batch, its needles sorted: numpy's binary search is much faster
    # on sorted needles (it starts from the previous hit) — the hot spot of prediction.
    order = np.argsort(keys)
    needles = keys[order]
    first = np.empty(needles.size, dtype=bool)  # first of each run of equal keys
    first[0] = True
    np.not_equal(needles[1:], needles[:-1], out=first[1:])
    distinct = needles[first]
    found = np.searchsorted(table, distinct)  # each distinct key searched once
    found[found >= table.size] = 0
    found[table[found] != distinct] = -1
    pos = found[np.cumsum(first) - 1]
    hit = pos >= 0
    return rows[order[hit]] * n_cols + (pos[hit] + offset)


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
