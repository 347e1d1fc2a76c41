"""A trained linear text model in compact form: feature tables, weights, calibration, metadata.

Training uses scikit-learn (``PostFeaturizer`` + a linear classifier); what ships is this object,
plain numpy arrays that predict without scikit-learn's per-call overhead (a post is scored in
well under a millisecond) and persist without pickle. Probabilities come from a multinomial
calibration fitted on out-of-fold scores: ``p = softmax(A · s + b)`` over the raw scores ``s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from huiyin.classifier.batch import TextBatch
from huiyin.classifier.features import (_BODY_SALT, _TITLE_SALT, FeatureTables, _find, rows_and_scores_together,
                                        shared_tokenizer)
from huiyin.classifier.text import KEY_BITS, char_keys, title_and_body
from huiyin.classifier.tokenize import DEFAULT_BACKEND, Backend, Tokenizer

FORMAT = "huiyin.linear-text/2"  # /2: 48-bit n-gram keys; /1 files (64-bit keys) are converted on load
_FORMAT_1 = "huiyin.linear-text/1"


# CSR arrays (indptr, indices, data) of a batch's features, a row per post.
Rows = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Analysis:
    """One scored post: probabilities and the features behind them."""

    proba: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    title: str
    body: str


def _weak(name: str) -> bool:
    """Single characters and bare Latin/digit strings make poor evidence."""
    return len(name) < 2 or name.isascii()


@dataclass
class LinearTextModel:
    """Feature tables + coefficients (features × classes) + calibration + metadata."""

    labels: list[str]
    tables: FeatureTables
    coef: np.ndarray  # float32 (n_features, n_classes)
    intercept: np.ndarray  # float32 (n_classes,)
    calib_a: np.ndarray  # float64 (n_classes, n_classes)
    calib_b: np.ndarray  # float64 (n_classes,)
    extra_words: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    backend: Backend = DEFAULT_BACKEND
    _vocab: list[str] | None = field(default=None, repr=False)

    @property
    def tokenizer(self) -> Tokenizer:
        return shared_tokenizer(self.backend, self.extra_words)

    # -- scoring ---------------------------------------------------------------------------
    def raw_scores(self, posts: Sequence[tuple[str | None, str | None]] | TextBatch) -> np.ndarray:
        """Decision scores (n_posts, n_classes) of raw (title, body) pairs or of a prepared batch."""
        return self._scores_and_rows(posts)[0]

    def proba_and_rows(self, batch: TextBatch) -> tuple[np.ndarray, Rows]:
        """Calibrated probabilities of a batch and its feature rows (for ``word_evidence``)."""
        scores, rows = self._scores_and_rows(batch)
        return self.calibrate(scores), rows

    def _scores_and_rows(self, posts: Sequence[tuple[str | None, str | None]] | TextBatch) -> tuple[np.ndarray, Rows]:
        # Plain arrays, no scipy matrix: building one costs more than scoring a short post.
        batch = posts if isinstance(posts, TextBatch) else TextBatch.of(posts)
        kept = batch.kept(self)
        if kept is not None:
            return kept  # type: ignore[no-any-return]
        k = self.coef.shape[1]
        indptr, indices, data, scores = self.tables.rows_and_scores(self.tokenizer, batch, self._weights(), k)
        return scores + self.intercept, (indptr, indices, data)

    def score_together(self, other: LinearTextModel, batch: TextBatch) -> bool:
        """Score ``batch`` with this model and ``other`` in one pass over its texts, and keep both
        results in the batch, where ``predict_proba`` and ``proba_and_rows`` then find them.
        False (nothing done) when the two do not cut the texts with the same tokenizer."""
        if other.tokenizer is not self.tokenizer:
            return False
        results = rows_and_scores_together(
            self.tokenizer, batch, (self.tables, self._weights(), self.coef.shape[1]),
            (other.tables, other._weights(), other.coef.shape[1]))
        for model, (indptr, indices, data, scores) in zip((self, other), results):
            batch.keep(model, (scores + model.intercept, (indptr, indices, data)))
        return True

    def _weights(self) -> np.ndarray:
        """A row per feature: its coefficients, then padding, then its idf in the last place, the
        row a power of two wide (8 floats for 7 classes): one cache line serves the feature's
        idf and weights, and no row straddles two lines."""
        cached = self.__dict__.get("_packed")
        if cached is None or cached[0] is not self.coef:  # built again if coef is replaced
            k = self.coef.shape[1]
            packed = np.zeros((self.coef.shape[0], 1 << k.bit_length()), dtype=np.float32)
            packed[:, :k] = self.coef
            packed[:, -1] = self.tables._all_idf
            cached = self.__dict__["_packed"] = (self.coef, packed)
        return cached[1]

    def word_evidence(self, rows: Rows, label_index: int, posts: Sequence[int],
                      top: int = 3) -> dict[int, list[tuple[str, float]]]:
        """For the ``posts`` (row numbers) of a batch's feature ``rows``, the words that pushed
        each most towards ``label_index`` (weight = feature value × coefficient), strongest first.

        The batch path of ``evidence``: words only (n-grams would need the text positions), from
        the features already computed for the scores, so it costs a few array operations."""
        indptr, indices, data = rows
        wanted = np.asarray(list(posts), dtype=np.int64)
        starts, ends = indptr[wanted], indptr[wanted + 1]
        owner = np.repeat(wanted, ends - starts)
        at = np.arange(owner.size) - np.repeat(np.cumsum(ends - starts) - (ends - starts), ends - starts)
        entry = np.repeat(starts, ends - starts) + at
        c, v = indices[entry].astype(np.int64), data[entry]
        keep = c < self.tables.offsets[1]
        r, c = owner[keep], c[keep]
        contrib = v[keep] * self.coef[c, label_index]
        positive = contrib > 0
        r, c, contrib = r[positive], c[positive], contrib[positive]
        order = np.lexsort((-contrib, r))  # by post, strongest first
        vocab = self._vocabulary()
        words: dict[int, list[tuple[str, float]]] = {int(i): [] for i in wanted.tolist()}
        for post, col, value in zip(r[order].tolist(), c[order].tolist(), contrib[order].tolist()):
            found = words[post]
            if len(found) < top:
                word = vocab[col]
                if not _weak(word):  # single characters say little
                    found.append((word, round(value, 4)))
        return words

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """Probabilities from raw scores."""
        z = scores @ self.calib_a.T + self.calib_b
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_proba(self, posts: Sequence[tuple[str | None, str | None]] | TextBatch) -> np.ndarray:
        """Calibrated class probabilities (n_posts, n_classes), columns in ``labels`` order."""
        return self.calibrate(self.raw_scores(posts))

    # -- one post, with evidence ------------------------------------------------------------
    def analyse(self, title: str | None, body: str | None) -> Analysis:
        """Features and calibrated probabilities of one post (kept for ``evidence``)."""
        title_n, body_n = title_and_body(title, body)
        cols, vals = self.tables.featurize(self.tokenizer, title_n, body_n)
        raw = (vals @ self.coef[cols]).astype(np.float64) + self.intercept if cols.size else self.intercept.astype(np.float64)
        return Analysis(self.calibrate(raw[None, :])[0], cols, vals, title_n, body_n)

    def evidence(self, analysis: Analysis, label_index: int, top: int = 5) -> list[tuple[str, float]]:
        """The words/n-grams that pushed this post most towards ``label_index``, with their weight.

        Weight = feature value × coefficient (its share of the class score). Overlapping
        n-grams are reported once (the strongest); single characters and Latin letters or
        digits alone only fill up when fewer than ``top`` words were found.
        """
        cols, vals = analysis.cols, analysis.vals
        if cols.size == 0:
            return []
        contrib = vals * self.coef[cols, label_index]
        order = np.argsort(-contrib, kind="stable")[: top * 8]
        order = order[contrib[order] > 0]
        names = self._names(cols[order], analysis.title, analysis.body)
        ranked = sorted(zip(order.tolist(), names), key=lambda item: _weak(item[1]))  # stable: strong words first
        chosen: list[tuple[str, float]] = []
        for i, name in ranked:
            if not name or any(name in c or c in name for c, _ in chosen):
                continue
            chosen.append((name, round(float(contrib[i]), 4)))
            if len(chosen) >= top:
                break
        return chosen

    def _vocabulary(self) -> list[str]:
        """Word of each word-block column."""
        if self._vocab is None:
            vocab = [""] * len(self.tables.words)
            for word, i in self.tables.words.items():
                vocab[i] = word
            self._vocab = vocab
        return self._vocab

    def _names(self, cols: np.ndarray, title: str, body: str) -> list[str]:
        _, o_body, o_title, _ = self.tables.offsets
        vocab = self._vocabulary()
        names: dict[int, str] = {int(c): vocab[c] for c in cols if c < o_body}
        wanted = {int(c) for c in cols if c >= o_body}
        if wanted:
            text = f"{title} {body}" if title else body
            for block_text, keys, salt, ngrams, offset in (
                (text, self.tables.body_keys, _BODY_SALT, self.tables.body_ngrams, o_body),
                (title, self.tables.title_keys, _TITLE_SALT, self.tables.title_ngrams, o_title),
            ):
                if not block_text or keys.size == 0:
                    continue
                k, starts, lengths = char_keys(block_text, *ngrams, salt, with_positions=True)
                found = _find(k, keys, offset)
                for j in np.flatnonzero(found >= 0):
                    col = int(found[j])
                    if col in wanted and col not in names:
                        s = int(starts[j])
                        names[col] = block_text[s : s + int(lengths[j])].strip()
        return [names.get(int(c), "") for c in cols]

    # -- persistence -----------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Plain containers and numpy arrays only (no pickled objects)."""
        vocab = sorted(self.tables.words, key=self.tables.words.__getitem__)
        t = self.tables
        return {
            "format": FORMAT,
            "labels": list(self.labels),
            "words": np.array(vocab, dtype=str),
            "word_idf": t.word_idf,
            "body_keys": t.body_keys,
            "body_idf": t.body_idf,
            "title_keys": t.title_keys,
            "title_idf": t.title_idf,
            "body_ngrams": list(t.body_ngrams),
            "title_ngrams": list(t.title_ngrams),
            "coef": self.coef,
            "intercept": self.intercept,
            "calib_a": self.calib_a,
            "calib_b": self.calib_b,
            "extra_words": np.array(self.extra_words, dtype=str),
            "metadata": self.metadata,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], backend: Backend = DEFAULT_BACKEND) -> LinearTextModel:
        """Rebuild from ``to_state`` output; ``backend`` chooses the tokenizer."""
        if state.get("format") not in (FORMAT, _FORMAT_1):
            raise ValueError(f"unknown model format {state.get('format')!r}, expected {FORMAT!r}")
        if state["format"] == _FORMAT_1:
            state = {**state, **{k: _short_keys(state[k]) for k in ("body_keys", "title_keys")}}
        words = [str(w) for w in state["words"]]
        tables = FeatureTables(
            words={w: i for i, w in enumerate(words)},
            word_idf=np.asarray(state["word_idf"], dtype=np.float32),
            body_keys=np.asarray(state["body_keys"], dtype=np.uint64),
            body_idf=np.asarray(state["body_idf"], dtype=np.float32),
            title_keys=np.asarray(state["title_keys"], dtype=np.uint64),
            title_idf=np.asarray(state["title_idf"], dtype=np.float32),
            body_ngrams=tuple(int(n) for n in state["body_ngrams"]),  # type: ignore[arg-type]
            title_ngrams=tuple(int(n) for n in state["title_ngrams"]),  # type: ignore[arg-type]
        )
        n_features, n_classes = tables.offsets[3], len(state["labels"])
        coef = np.ascontiguousarray(state["coef"], dtype=np.float32)
        if coef.shape != (n_features, n_classes):
            raise ValueError(f"coefficients have shape {coef.shape}, expected {(n_features, n_classes)}")
        return cls(
            labels=[str(x) for x in state["labels"]],
            tables=tables,
            coef=coef,
            intercept=np.asarray(state["intercept"], dtype=np.float32),
            calib_a=np.asarray(state["calib_a"], dtype=np.float64),
            calib_b=np.asarray(state["calib_b"], dtype=np.float64),
            extra_words=tuple(str(w) for w in state["extra_words"]),
            metadata=dict(state.get("metadata") or {}),
            backend=backend,
        )


def _short_keys(keys: np.ndarray) -> np.ndarray:
    """64-bit n-gram keys of a format /1 file as the 48-bit keys of format /2 (their top bits)."""
    short = np.asarray(keys, dtype=np.uint64) >> np.uint64(64 - KEY_BITS)
    if short.size > 1 and not bool(np.all(short[1:] > short[:-1])):
        raise ValueError("n-gram keys collide when shortened to 48 bits: retrain the model")
    return short
