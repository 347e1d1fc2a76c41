"""Fixed sets of literal words: look tokens up, find words in text.

``WordTable`` holds the words as code points with a hash table over them; the compiled loops of
``kernels`` use it to give each token its word id (the word block of the linear models) and to
find occurrences in a text (``KeywordMatcher``). Hash hits are checked character by character,
so results are exact.

>>> m = KeywordMatcher(["网传", "谣言", "辟谣", "征地", "征地补偿"])
>>> [w for _, _, w in m.finditer("网传某地征地补偿不到位，官方辟谣")]
['网传', '征地补偿', '辟谣']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

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
        lengths = np.diff(self.offsets)
        self.has_len = np.zeros(int(lengths.max(initial=0)) + 1, dtype=np.bool_)
        self.has_len[lengths] = True
        self.has_len[0] = False
        # Characters some word starts with (the matcher skips every other position at once).
        self.first = np.zeros(_BMP, dtype=np.bool_)
        starts = self.cp[self.offsets[:-1][lengths > 0]]
        self.first[starts[starts < _BMP]] = True

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, cp: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Word id of each token ``cp[offsets[i]:offsets[i+1]]``, -1 for other tokens."""
        return kernels.lookup_words(cp, offsets, self.table, self.cp, self.offsets)

    def occurrences(self, cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ids): leftmost-longest, non-overlapping occurrences in the code points ``cp``."""
        return kernels.match_words(cp, self.table, self.has_len, self.first, self.cp, self.offsets)


class KeywordMatcher:
    """Leftmost-longest, non-overlapping matches of a fixed set of words, in text order."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(w for w in words if w)
        self._table = WordTable(sorted(self.words))

    def finditer(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, word) for each match, in text order."""
        if not text or not self.words:
            return
        cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        starts, ids = self._table.occurrences(cp)
        words = self._table.words
        for start, wid in zip(starts.tolist(), ids.tolist()):
            word = words[wid]
            yield start, start + len(word), word

    def search(self, text: str) -> bool:
        """True if any word occurs in ``text``."""
        return next(self.finditer(text), None) is not None

    def findall(self, text: str) -> list[str]:
        """The words found, in order, with repeats."""
        if not text or not self.words:
            return []
        cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        words = self._table.words
        return [words[i] for i in self._table.occurrences(cp)[1].tolist()]
