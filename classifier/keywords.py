"""Fast search for many literal words in Chinese text (standard library only).

``re`` tries the branches of a large alternation one after the other at every position, which
costs tens of microseconds per post for a few hundred words. Here a character class of the
words' anchor characters finds the candidate positions in C, and a dict of the word lengths per
anchor checks each candidate with a few set look-ups. The anchor is the first or the last
character, whichever side has fewer distinct characters (department names end in 局/委/所/队:
few candidates). Matches are non-overlapping, longest first, in text order.

>>> m = KeywordMatcher(["网传", "谣言", "辟谣"])
>>> [w for _, _, w in m.finditer("网传某地停水，官方辟谣")]
['网传', '辟谣']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator


class KeywordMatcher:
    """Leftmost-longest, non-overlapping matches of a fixed set of words."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(w for w in words if w)
        self.by_last = len({w[-1] for w in self.words}) < len({w[0] for w in self.words})
        lengths: dict[str, set[int]] = {}
        for word in self.words:
            lengths.setdefault(word[-1] if self.by_last else word[0], set()).add(len(word))
        self._lengths = {ch: tuple(sorted(ls, reverse=True)) for ch, ls in lengths.items()}
        chars = "".join(sorted(self._lengths))
        self._candidates = re.compile(f"[{re.escape(chars)}]") if chars else None

    def finditer(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, word) for each match, in text order."""
        if self._candidates is None:
            return
        if self.by_last:
            yield from self._by_last(text)
            return
        words, lengths = self.words, self._lengths
        last_end = 0
        for m in self._candidates.finditer(text):
            i = m.start()
            if i < last_end:
                continue
            for n in lengths[text[i]]:
                if text[i : i + n] in words:
                    yield i, i + n, text[i : i + n]
                    last_end = i + n
                    break

    def _by_last(self, text: str) -> Iterator[tuple[int, int, str]]:
        # The longest word ending at each anchor; then leftmost-longest among overlapping ones
        # (征地 and 征地补偿 both end at an anchor: 征地补偿 wins).
        words, lengths = self.words, self._lengths
        found: list[tuple[int, int]] = []
        for m in self._candidates.finditer(text):  # type: ignore[union-attr]
            end = m.end()
            for n in lengths[text[end - 1]]:
                if n <= end and text[end - n : end] in words:
                    found.append((end - n, end))
                    break
        if len(found) > 1:
            found.sort(key=lambda se: (se[0], se[0] - se[1]))
        last_end = 0
        for start, end in found:
            if start >= last_end:
                yield start, end, text[start:end]
                last_end = end

    def search(self, text: str) -> bool:
        """True if any word occurs in ``text``."""
        return next(self.finditer(text), None) is not None

    def findall(self, text: str) -> list[str]:
        """The words found, in order, with repeats."""
        return [w for _, _, w in self.finditer(text)]
