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

from huiyin.classifier import kernels
from huiyin.classifier.batch import CHUNK, TextBatch
from huiyin.classifier.keywords import WordTable
from huiyin.classifier.text import char_keys, title_and_body
from huiyin.classifier.tokenize import DEFAULT_BACKEND, Backend, Tokenizer

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
        # The look-up caches hold a tokenizer (not picklable); they are rebuilt on first use.
        return {k: v for k, v in self.__dict__.items() if k not in ("_joint_tables", "_idf_all", "_idf_col")}

    def featurize(self, tokenizer: Tokenizer, title: str, body: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of one normalised post; columns ascending and unique."""
        _, cols, vals = self.rows(tokenizer, TextBatch([(title, body)]))
        order = np.argsort(cols)
        return cols[order].astype(np.int64), vals[order]

    def matrix(self, tokenizer: Tokenizer, posts: Sequence[Post] | TextBatch) -> sp.csr_matrix:
        """CSR matrix of posts: normalised (title, body) pairs, or a ``TextBatch``."""
        n_cols = self.offsets[3]
        batches = [posts] if isinstance(posts, TextBatch) else [
            TextBatch(list(posts[i : i + CHUNK])) for i in range(0, len(posts), CHUNK)]
        blocks = []
        for batch in batches:
            indptr, indices, data = self.rows(tokenizer, batch)
            blocks.append(sp.csr_matrix((data, indices, indptr), shape=(len(batch), n_cols)))
        if not blocks:
            return sp.csr_matrix((0, n_cols), dtype=np.float32)
        return blocks[0] if len(blocks) == 1 else sp.vstack(blocks, format="csr")

    def rows(self, tokenizer: Tokenizer, batch: TextBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR arrays (indptr, indices, data) of the batch's features, a row per post.

        The batch is cut and laid out once (shared with every other model reading it); here the
        tokens are mapped to this model's word columns, and a compiled loop hashes each post's
        character n-grams, looks them up, weights them by sublinear tf × idf and L2-normalises
        each block. A row's columns are unique but in no particular order.
        """
        indptr, indices, data, _ = self.rows_and_scores(tokenizer, batch, self._idf_column, 0)
        return indptr, indices, data

    def rows_and_scores(self, tokenizer: Tokenizer, batch: TextBatch, weights: np.ndarray, k: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``rows`` and the scores ``X @ weights[:, :k]``; ``weights[:, -1]`` must be the idf."""
        return rows_and_scores_together(tokenizer, batch, (self, weights, k))[0]

    def _joint(self, other: FeatureTables | None, tokenizer: Tokenizer) -> _JointTables:
        """The look-up tables of this model's features and ``other``'s together (cached)."""
        cache = self.__dict__.setdefault("_joint_tables", {})
        key = (id(other), id(tokenizer))
        found = cache.get(key)
        if found is None or found[0] is not other or found[1] is not tokenizer:
            found = cache[key] = (other, tokenizer, _JointTables.of(self, other, tokenizer))
        return found[2]

    @property
    def _idf_column(self) -> np.ndarray:
        """The idf as an (n_features, 1) array, the ``weights`` of ``rows``."""
        cached = self.__dict__.get("_idf_col")
        if cached is None or cached.shape[0] != self.offsets[3]:
            cached = self.__dict__["_idf_col"] = np.ascontiguousarray(self._all_idf[:, None])
        return cached

    @property
    def _all_idf(self) -> np.ndarray:
        """idf of every column (word, body, title blocks end to end)."""
        cached = self.__dict__.get("_idf_all")
        if cached is None or cached.shape[0] != self.offsets[3]:
            cached = self.__dict__["_idf_all"] = np.concatenate(
                [self.word_idf, self.body_idf, self.title_idf]).astype(np.float32)
        return cached


# One model's part of a joint scoring: its tables, its weight rows (coefficients, then the idf
# last) and how many classes to score.
Scoring = tuple[FeatureTables, np.ndarray, int]
_NO_WEIGHTS = np.zeros((1, 2), dtype=np.float32)


def rows_and_scores_together(tokenizer: Tokenizer, batch: TextBatch, first: Scoring, second: Scoring | None = None
                             ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(indptr, indices, data, scores) of the batch for one model, or for two models that read
    it with the same tokenizer, in one pass over the texts: each n-gram is hashed and looked up
    once for both (``kernels.tfidf_rows``)."""
    tables_a, weights_a, k_a = first
    tables_b, weights_b, k_b = second if second is not None else (None, _NO_WEIGHTS, 0)
    joint = tables_a._joint(tables_b, tokenizer)
    tokens = batch.tokens(tokenizer)
    ids = joint.words.span_ids(tokens.cp, tokens.start, tokens.end)
    body_cp, body_off = batch.codepoints("body")
    title_cp, title_off = batch.codepoints("title")
    out = kernels.tfidf_rows(
        joint.word_a[ids], joint.word_b[ids], tokens.post,
        body_cp, body_off, joint.body, *joint.body_ngrams, _BODY_SALT,
        title_cp, title_off, joint.title, *joint.title_ngrams, _TITLE_SALT,
        joint.cols_a, weights_a, k_a, joint.cols_b, weights_b, k_b,
    )
    return [out[:4]] if second is None else [out[:4], out[4:]]


@dataclass(frozen=True)
class _JointTables:
    """The features of one or two models as one set of look-up tables: the words either keeps
    (with each model's column, -1 for none, one more -1 at the end for tokens that are no
    feature), and n-gram tables whose values pack both models' columns."""

    words: WordTable
    word_a: np.ndarray
    word_b: np.ndarray
    body: np.ndarray
    title: np.ndarray
    body_ngrams: tuple[int, int]
    title_ngrams: tuple[int, int]
    cols_a: np.ndarray  # first column of the body and the title block
    cols_b: np.ndarray

    @classmethod
    def of(cls, a: FeatureTables, b: FeatureTables | None, tokenizer: Tokenizer) -> _JointTables:
        kept_a = {w: c for w, c in a.words.items() if tokenizer.keeps(w)}
        kept_b = {w: c for w, c in b.words.items() if tokenizer.keeps(w)} if b is not None else {}
        union = list(kept_a) + [w for w in kept_b if w not in kept_a]
        word_a = np.array([kept_a.get(w, -1) for w in union] + [-1], dtype=np.int64)
        word_b = np.array([kept_b.get(w, -1) for w in union] + [-1], dtype=np.int64)
        empty = np.empty(0, dtype=np.uint64)
        tables = []
        for block, salt in (("body", _BODY_SALT), ("title", _TITLE_SALT)):
            keys_a = np.ascontiguousarray(getattr(a, f"{block}_keys"), dtype=np.uint64)
            keys_b = np.ascontiguousarray(getattr(b, f"{block}_keys"), dtype=np.uint64) if b is not None else empty
            keys = np.union1d(keys_a, keys_b)
            tables.append(kernels.build_ngram_table(
                keys, kernels.pack_columns(_positions(keys, keys_a), _positions(keys, keys_b)),
                kernels.table_size(keys.size), salt))
        _, a_body, a_title, _ = a.offsets
        _, b_body, b_title, _ = b.offsets if b is not None else (0, 0, 0, 0)
        return cls(WordTable(union), word_a, word_b, tables[0], tables[1],
                   _span(a.body_ngrams, b.body_ngrams if b is not None else None),
                   _span(a.title_ngrams, b.title_ngrams if b is not None else None),
                   np.array([a_body, a_title], dtype=np.int64), np.array([b_body, b_title], dtype=np.int64))


def _positions(keys: np.ndarray, own: np.ndarray) -> np.ndarray:
    """For each of the sorted ``keys``, its position among the sorted ``own`` keys, or -1."""
    found = np.full(keys.size, -1, dtype=np.int64)
    if own.size:
        found[np.searchsorted(keys, own)] = np.arange(own.size)
    return found


def _span(first: tuple[int, int], second: tuple[int, int] | None) -> tuple[int, int]:
    """The n-gram lengths either model reads (a range like (1, 0) reads none)."""
    ranges = [r for r in (first, second) if r is not None and r[1] >= r[0]]
    if not ranges:
        return 1, 0
    return min(r[0] for r in ranges), max(r[1] for r in ranges)


def _find(keys: np.ndarray, table: np.ndarray, offset: int) -> np.ndarray:
    """Column (``offset`` + position) of each key in the sorted ``table``, -1 where absent.

    Used for the evidence of one post (which n-gram a column is); the batch path looks keys up
    in the compiled hash tables instead (``kernels``)."""
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
        backend: Backend = DEFAULT_BACKEND,
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
