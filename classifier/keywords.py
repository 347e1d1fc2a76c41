"""Fixed sets of literal words: look tokens up, find words in text.

``WordTable`` holds the words as code points with a hash table over them; the compiled loops of
``kernels`` use it to give each token its word id (the word block of the linear models) and to
find occurrences in a text (``KeywordMatcher``). Hash hits are checked character by character,
so results are exact.

A judgement reads each post with several tables (field keywords, department names, rumour and
incident words, place names). Inside ``scanning(texts)`` a table first asked about one of those
texts matches all of them in one compiled call and keeps the results for the others, instead of
paying a call per table per post.

>>> m = KeywordMatcher(["网传", "谣言", "辟谣", "征地", "征地补偿"])
>>> [w for _, _, w in m.finditer("网传某地征地补偿不到位，官方辟谣")]
['网传', '征地补偿', '辟谣']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from huiyin.classifier import kernels

_BMP = 0x10000


class WordTable:
    """Distinct words (ids: their positions in ``words``) as code points and a hash table."""

    def __init__(self, words: Sequence[str]) -> None:
        self.words = list(words)
        if len(set(self.words)) != len(self.words):
            raise ValueError("WordTable words must be distinct")
        self.cp, self.offsets = kernels.codepoints(self.words)
        hashes = kernels.word_hashes(self.cp, self.offsets)
        self.table = kernels.build_table(hashes, kernels.table_size(len(self.words)))
        self.lengths = lengths = np.diff(self.offsets)
        self.has_len = np.zeros(int(lengths.max(initial=0)) + 1, dtype=np.bool_)
        self.has_len[lengths] = True
        self.has_len[0] = False
        # How words start (the matcher rules most positions out with these two looks).
        self.first = np.zeros(_BMP, dtype=np.uint8)
        self.pairs = np.zeros(1 << 16, dtype=np.bool_)
        for word in self.words:
            c = ord(word[0]) if word else _BMP
            if c < _BMP:
                self.first[c] |= 1 if len(word) == 1 else 2
            if len(word) > 1:
                self.pairs[kernels.pair_slot.py_func(c, ord(word[1]))] = True

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, cp: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Word id of each token ``cp[offsets[i]:offsets[i+1]]``, -1 for other tokens."""
        return self.span_ids(cp, offsets[:-1], offsets[1:])

    def span_ids(self, cp: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Word id of each token ``cp[starts[i]:ends[i]]``, -1 for other tokens."""
        return kernels.lookup_words(cp, np.ascontiguousarray(starts), np.ascontiguousarray(ends),
                                    self.table, self.cp, self.offsets)

    def occurrences(self, cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ids): leftmost-longest, non-overlapping occurrences in the code points ``cp``."""
        _, starts, ids = kernels.match_many(cp, np.array([0, cp.size], dtype=np.int64), self.table, self.has_len,
                                            self.first, self.pairs, self.cp, self.offsets)
        return starts, ids

    def find(self, text: str, *, reverse: bool = False) -> list[tuple[int, int]]:
        """(start, id) of each occurrence in ``text`` (in the reversed text with ``reverse``:
        starts count from its end), from the current ``scanning`` batch when it holds ``text``."""
        scan = _SCAN.get()
        if scan is not None:
            found = scan.find(self, text, reverse)
            if found is not None:
                return found
        cp = _codepoints(text[::-1] if reverse else text)
        starts, ids = self.occurrences(cp)
        return list(zip(starts.tolist(), ids.tolist()))


class TextScan:
    """The texts of a batch laid out once; each table matched over all of them in one call."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = list(texts)
        self._index = {t: i for i, t in enumerate(self.texts)}
        self._layout: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
        self._found: dict[tuple[int, bool], tuple[WordTable, list[list[tuple[int, int]]]]] = {}

    def find(self, table: WordTable, text: str, reverse: bool) -> list[tuple[int, int]] | None:
        """``table.find(text)`` if ``text`` is one of the batch's texts, else None."""
        i = self._index.get(text)
        if i is None:
            return None
        cached = self._found.get((id(table), reverse))
        if cached is None or cached[0] is not table:
            layout = self._layout.get(reverse)
            if layout is None:
                layout = self._layout[reverse] = kernels.codepoints(
                    [t[::-1] for t in self.texts] if reverse else self.texts)
            bounds, starts, ids = kernels.match_many(*layout, table.table, table.has_len, table.first,
                                                     table.pairs, table.cp, table.offsets)
            pairs = list(zip(starts.tolist(), ids.tolist()))
            edges = bounds.tolist()
            cached = (table, [pairs[a:b] for a, b in zip(edges, edges[1:])])
            self._found[(id(table), reverse)] = cached
        return cached[1][i]


_SCAN: ContextVar[TextScan | None] = ContextVar("huiyin_text_scan", default=None)


@contextmanager
def scanning(texts: Sequence[str]) -> Iterator[TextScan]:
    """Within the block, word tables match ``texts`` batch-wise (see the module docstring)."""
    scan = TextScan(texts)
    token = _SCAN.set(scan)
    try:
        yield scan
    finally:
        _SCAN.reset(token)


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


class KeywordMatcher:
    """Leftmost-longest, non-overlapping matches of a fixed set of words, in text order."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(w for w in words if w)
        self._table = WordTable(sorted(self.words))

    def finditer(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, word) for each match, in text order."""
        if not text or not self.words:
            return
        words = self._table.words
        for start, wid in self._table.find(text):
            word = words[wid]
            yield start, start + len(word), word

    def search(self, text: str) -> bool:
        """True if any word occurs in ``text``."""
        return next(self.finditer(text), None) is not None

    def findall(self, text: str) -> list[str]:
        """The words found, in order, with repeats."""
        if not text or not self.words:
            return []
        words = self._table.words
        return [words[i] for _, i in self._table.find(text)]
