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
        # The lookup caches hold a tokenizer (not picklable); they are rebuilt on first use.
        return {k: v for k, v in self.__dict__.items() if k not in ("_kept_words", "_idf_all", "_idf_col", "_hash_tables")}

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
        _, o_body, o_title, _ = self.offsets
        tokens = batch.tokens(tokenizer)
        table, columns = self._word_table(tokenizer)
        ids = table.span_ids(tokens.cp, tokens.start, tokens.end)
        word_cols = np.full(ids.size, -1, dtype=np.int64)
        hit = ids >= 0
        word_cols[hit] = columns[ids[hit]]
        body_cp, body_off = batch.codepoints("body")
        title_cp, title_off = batch.codepoints("title")
        body_table, title_table = self._tables()
        return kernels.tfidf_rows(
            word_cols, tokens.post,
            body_cp, body_off, body_table, *self.body_ngrams, _BODY_SALT, o_body,
            title_cp, title_off, title_table, *self.title_ngrams, _TITLE_SALT, o_title,
            weights, k,
        )

    def _tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Hash tables of the n-gram vocabularies (built on first use)."""
        cached = self.__dict__.get("_hash_tables")
        if cached is None:
            cached = self.__dict__["_hash_tables"] = tuple(
                kernels.build_ngram_table(np.ascontiguousarray(keys, dtype=np.uint64), kernels.table_size(keys.size), salt)
                for keys, salt in ((self.body_keys, _BODY_SALT), (self.title_keys, _TITLE_SALT)))
        return cached

    def _word_table(self, tokenizer: Tokenizer) -> tuple[WordTable, np.ndarray]:
        """The words ``tokenizer.words`` keeps, as a ``WordTable``, and each one's column
        (cached per tokenizer)."""
        cache = self.__dict__.setdefault("_kept_words", {})
        kept = cache.get(id(tokenizer))
        if kept is None or kept[0] is not tokenizer:
            words = {w: c for w, c in self.words.items() if tokenizer.keeps(w)}
            kept = cache[id(tokenizer)] = (tokenizer, WordTable(list(words)),
                                           np.fromiter(words.values(), dtype=np.int64, count=len(words)))
        return kept[1], kept[2]

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
