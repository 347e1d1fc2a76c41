"""Fast search for many literal words in Chinese text (standard library only).

``re`` tries the branches of a large alternation one after the other at every position, which
costs tens of microseconds per post for a few hundred words. Here each word is anchored on one
of its characters, the rarest by a frequency table (征地补偿 on 偿, not 地); a character class of the
anchors finds the candidate positions in C, and a dict per anchor checks each candidate with a
few set look-ups. Few candidates per post means little Python work. Matches are
non-overlapping, leftmost and longest first, in text order.

>>> m = KeywordMatcher(["网传", "谣言", "辟谣", "征地", "征地补偿"])
>>> [w for _, _, w in m.finditer("网传某地征地补偿不到位，官方辟谣")]
['网传', '征地补偿', '辟谣']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path

RANK_FILE = "data/char_rank.txt"
RANKED = 3000  # characters kept in the table; any other character counts as rare


@lru_cache(maxsize=1)
def char_rank() -> dict[str, int]:
    """Character → frequency rank (0 = most frequent), from ``data/char_rank.txt``."""
    text = resources.files("huiyin.classifier").joinpath(RANK_FILE).read_text(encoding="utf-8")
    chars = "".join(line for line in text.splitlines() if not line.startswith("#"))
    return {ch: i for i, ch in enumerate(chars)}


def build_char_rank() -> str:
    """The table's text: characters by frequency in jieba's dictionary (word counts summed).

    Run ``python -m huiyin.classifier.keywords`` to regenerate ``data/char_rank.txt``.
    """
    import jieba

    counts: dict[str, int] = {}
    path = Path(jieba.__file__).parent / "dict.txt"
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            word, freq, _ = line.split(" ", 2)
            for ch in word:
                counts[ch] = counts.get(ch, 0) + int(freq)
    ranked = sorted(counts, key=lambda ch: (-counts[ch], ch))[:RANKED]
    lines = ["".join(ranked[i : i + 50]) for i in range(0, len(ranked), 50)]
    head = "# Characters by frequency (jieba 0.42 dict.txt, MIT), most frequent first; keyword anchors.\n"
    return head + "\n".join(lines) + "\n"


def _anchor(word: str, users: dict[str, int], rank: dict[str, int]) -> int:
    """Offset of the anchor character: the rarest one, then the one fewest words share."""
    return min(range(len(word)), key=lambda k: (-rank.get(word[k], RANKED), users.get(word[k], 0), k))


class KeywordMatcher:
    """Leftmost-longest, non-overlapping matches of a fixed set of words."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(w for w in words if w)
        users: dict[str, int] = {}
        for word in self.words:
            for ch in set(word):
                users[ch] = users.get(ch, 0) + 1
        entries: dict[str, set[tuple[int, int]]] = {}
        rank = char_rank()
        for word in self.words:
            k = _anchor(word, users, rank)
            entries.setdefault(word[k], set()).add((k, len(word)))
        # Longest first at each anchor, so the first hit there is the longest word.
        self._entries = {ch: tuple(sorted(es, key=lambda e: -e[1])) for ch, es in entries.items()}
        chars = "".join(sorted(self._entries))
        self._candidates = re.compile(f"[{re.escape(chars)}]") if chars else None

    def finditer(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, word) for each match, in text order."""
        if self._candidates is None:
            return
        words, entries = self.words, self._entries
        found: list[tuple[int, int]] = []
        for m in self._candidates.finditer(text):
            i = m.start()
            for k, n in entries[text[i]]:
                start = i - k
                if start >= 0 and text[start : start + n] in words:
                    found.append((start, start + n))
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


if __name__ == "__main__":
    target = Path(__file__).parent / RANK_FILE
    target.write_text(build_char_rank(), encoding="utf-8")
    print(f"{RANKED} characters -> {target}")
