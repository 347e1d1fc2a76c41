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

from huiyin.classifier.batch import MAX_ROWS, TextBatch
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

    def __getstate__(self) -> dict:
        # The lookup caches hold a tokenizer (not picklable); they are rebuilt on first use.
        return {k: v for k, v in self.__dict__.items() if k not in ("_kept_words", "_idf_all")}

    def featurize(self, tokenizer: Tokenizer, title: str, body: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of one normalised post; columns ascending and unique."""
        _, cols, vals = self.entries(tokenizer, TextBatch([(title, body)]))
        order = np.argsort(cols)
        return cols[order], vals[order]

    def matrix(self, tokenizer: Tokenizer, posts: Sequence[Post] | TextBatch) -> sp.csr_matrix:
        """CSR matrix of posts: normalised (title, body) pairs, or a ``TextBatch``."""
        n_cols = self.offsets[3]
        batches = [posts] if isinstance(posts, TextBatch) else [
            TextBatch(list(posts[i : i + MAX_ROWS])) for i in range(0, len(posts), MAX_ROWS)]
        blocks = []
        for batch in batches:
            rows, cols, vals = self.entries(tokenizer, batch)
            # Entries are distinct (post, column) pairs: group them by row with a stable radix
            # sort of the 16-bit rows instead of letting scipy sort and sum duplicates.
            order = np.argsort(rows.astype(np.uint16), kind="stable")
            indptr = np.zeros(len(batch) + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=len(batch)), out=indptr[1:])
            blocks.append(sp.csr_matrix((vals[order], cols[order], indptr), shape=(len(batch), n_cols)))
        if not blocks:
            return sp.csr_matrix((0, n_cols), dtype=np.float32)
        return blocks[0] if len(blocks) == 1 else sp.vstack(blocks, format="csr")

    def entries(self, tokenizer: Tokenizer, batch: TextBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, columns, values) of the batch's non-zero features, in no particular order.

        Counting and sorting happen once per batch in ``TextBatch`` (shared with every other
        model reading the batch); here each block's distinct items are looked up in this model's
        vocabulary, weighted by sublinear tf × idf, and L2-normalised per (post, block).
        """
        n = len(batch)
        _, o_body, o_title, _ = self.offsets
        words = batch.words(tokenizer)
        get = self._feature_words(tokenizer).get
        word_col = np.fromiter(map(get, words.words, repeat(-1)), dtype=np.int64, count=len(words.words))
        wcols = word_col[words.items] if words.items.size else np.empty(0, np.int64)
        parts = [(words.rows, wcols, words.counts)]
        for block, table, ngrams, salt, offset in (
            ("body", self.body_keys, self.body_ngrams, _BODY_SALT, o_body),
            ("title", self.title_keys, self.title_ngrams, _TITLE_SALT, o_title),
        ):
            counted = batch.ngrams(block, *ngrams, salt)
            parts.append((counted.rows, _find(counted.items, table, offset), counted.counts))
        rows = np.concatenate([r for r, _, _ in parts])
        cols = np.concatenate([c for _, c, _ in parts])
        counts = np.concatenate([k for _, _, k in parts])
        hit = cols >= 0
        rows, cols = rows[hit], cols[hit]
        vals = (1.0 + np.log(counts[hit])) * self._all_idf[cols]
        group = rows * 3 + (cols >= o_body) + (cols >= o_title)  # (post, block)
        norm = np.sqrt(np.bincount(group, weights=vals * vals, minlength=3 * n))[group]
        vals = np.divide(vals, norm, out=vals, where=norm > 0).astype(np.float32)
        return rows, cols, vals

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


def _find(keys: np.ndarray, table: np.ndarray, offset: int) -> np.ndarray:
    """Column (``offset`` + position) of each key in the sorted ``table``, -1 where absent.

    The keys come ascending from ``TextBatch``: numpy's binary search is much faster on sorted
    needles (measured faster here than a bucketed hash index, whose gathers miss the cache)."""
    if keys.size == 0 or table.size == 0:
        return np.full(keys.size, -1, dtype=np.int64)
    pos = np.searchsorted(table, keys)
    pos[pos >= table.size] = 0
    return np.where(table[pos] == keys, pos + offset, -1)


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
