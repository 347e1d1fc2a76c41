"""A batch of posts prepared once for every model that reads it.

The field and the sentiment model read the same posts with the same tokenizer and the same
character n-grams. ``TextBatch`` normalises, cuts and hashes each post once, lazily, and keeps
the result, so the second model only looks its own vocabulary up. Every model asks for
*counted* features: distinct (post, feature) pairs with their counts, which is what TF-IDF needs.

N-grams are counted with one sort: the key (48 bits) and the post's row (16 bits) make one
64-bit code ``key << 16 | row``. Sorting the codes groups the equal n-grams of a post into runs
(their counts) and orders the keys ascending, which is what the binary search of each model's
sorted vocabulary is fastest on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from huiyin.classifier.text import KEY_BITS, char_keys_many, title_and_body
from huiyin.classifier.tokenize import Tokenizer

Post = tuple[str | None, str | None]

# Rows of a batch share 16 bits with the 48-bit n-gram key in one sort code.
MAX_ROWS = 1 << (64 - KEY_BITS)
_ROW_BITS = np.uint64(64 - KEY_BITS)
_ROW_MASK = np.uint64(MAX_ROWS - 1)


@dataclass(frozen=True)
class Counted:
    """Distinct (row, item) pairs of a batch with their counts (items: word ids or n-gram keys)."""

    rows: np.ndarray  # int64
    items: np.ndarray  # int64 word ids, or uint64 n-gram keys in ascending order
    counts: np.ndarray  # int64


@dataclass(frozen=True)
class CountedWords(Counted):
    """Word counts; ``items`` index ``words``, the batch's distinct tokens."""

    words: list[str] = field(default_factory=list)


class TextBatch:
    """Posts as (title, body) pairs, normalised and featurised lazily and only once.

    ``TextBatch.of(posts)`` takes raw pairs; ``TextBatch(pairs)`` pairs already passed through
    ``title_and_body``. At most ``MAX_ROWS`` posts (callers chunk bigger inputs).
    """

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        if len(pairs) > MAX_ROWS:
            raise ValueError(f"a batch holds at most {MAX_ROWS} posts, got {len(pairs)}")
        self.pairs = list(pairs)
        self._words: dict[int, tuple[Tokenizer, CountedWords]] = {}
        self._ngrams: dict[tuple[str, int, int, int], Counted] = {}

    @classmethod
    def of(cls, posts: Sequence[Post]) -> TextBatch:
        """A batch of raw (title, body) pairs: normalised and length-capped here."""
        return cls([title_and_body(t, b) for t, b in posts])

    def __len__(self) -> int:
        return len(self.pairs)

    @cached_property
    def joined(self) -> list[str]:
        """Title and body of each post as one text (what the words and body n-grams read)."""
        return [f"{t}。{b}" if t else b for t, b in self.pairs]

    def words(self, tokenizer: Tokenizer) -> CountedWords:
        """Distinct tokens of each post, with counts (punctuation and stop words included)."""
        cached = self._words.get(id(tokenizer))
        if cached is not None and cached[0] is tokenizer:
            return cached[1]
        flat: list[str] = []
        lens: list[int] = []
        for text in self.joined:
            raw = tokenizer.cut(text)
            flat += raw
            lens.append(len(raw))
        # Interned with C-level loops only (dict.fromkeys, zip, map): a Python loop per token
        # cost more than the segmentation itself.
        ids = dict(zip(dict.fromkeys(flat), range(len(flat))))
        found = np.fromiter(map(ids.__getitem__, flat), dtype=np.int64, count=len(flat))
        n_ids = max(1, len(ids))
        codes = np.repeat(np.arange(len(self.pairs), dtype=np.int64), lens) * n_ids + found
        code, counts = np.unique(codes, return_counts=True)
        rows = code // n_ids
        result = CountedWords(rows, code - rows * n_ids, counts, list(ids))
        self._words[id(tokenizer)] = (tokenizer, result)
        return result

    def ngrams(self, block: str, lo: int, hi: int, salt: int) -> Counted:
        """Distinct character n-gram keys (lo ≤ n ≤ hi) of ``block`` (``body`` or ``title``) per post.

        May hold more: the keys of a wider range already computed for another model (the field
        model's 1–3-grams serve the sentiment model's 1–2-grams). The extra keys are harmless:
        features are looked up in a model's vocabulary, and the n of an n-gram is part of its
        hash, so a trigram never finds a bigram's entry; counts of the wanted n are unchanged."""
        key = (block, lo, hi, salt)
        cached = self._ngrams.get(key)
        if cached is None:
            cached = next((c for (b, l, h, s), c in self._ngrams.items()
                           if b == block and s == salt and l <= lo and h >= hi), None)
        if cached is None:
            texts = self._body_texts if block == "body" else [t for t, _ in self.pairs]
            keys, rows = char_keys_many(texts, lo, hi, salt)
            cached = self._ngrams[key] = _count_keys(keys, rows)
        return cached

    @cached_property
    def _body_texts(self) -> list[str]:
        # The body block reads title and body joined by a space (as training always did).
        return [f"{t} {b}" if t else b for t, b in self.pairs]


def _count_keys(keys: np.ndarray, rows: np.ndarray) -> Counted:
    """One sort of ``key << 16 | row``: runs are (key, row) counts, keys come out ascending."""
    if keys.size == 0:
        return Counted(np.empty(0, np.int64), np.empty(0, np.uint64), np.empty(0, np.int64))
    codes = np.sort((keys << _ROW_BITS) | rows.astype(np.uint64))
    first = np.empty(codes.size, dtype=bool)
    first[0] = True
    np.not_equal(codes[1:], codes[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, codes.size))
    distinct = codes[starts]
    return Counted((distinct & _ROW_MASK).astype(np.int64), distinct >> _ROW_BITS, counts)
