"""Literal word matching (``KeywordMatcher``) and token look-up (``WordTable``): exact, leftmost-longest."""

from __future__ import annotations

import random

import numpy as np
import pytest

from huiyin.classifier.kernels import codepoints
from huiyin.classifier.keywords import KeywordMatcher, WordTable


def brute_force(words: set[str], text: str) -> list[tuple[int, int, str]]:
    """Leftmost-longest, non-overlapping, by trying every length at every position."""
    found, i = [], 0
    longest = max(map(len, words), default=0)
    while i < len(text):
        hit = next((text[i : i + n] for n in range(longest, 0, -1) if text[i : i + n] in words), None)
        if hit:
            found.append((i, i + len(hit), hit))
            i += len(hit)
        else:
            i += 1
    return found


def test_matches_are_leftmost_longest_and_do_not_overlap() -> None:
    m = KeywordMatcher(["网传", "谣言", "辟谣", "征地", "征地补偿", "AB", "BCD", ""])
    assert list(m.finditer("网传某地征地补偿不到位，官方辟谣")) == [(0, 2, "网传"), (4, 8, "征地补偿"), (14, 16, "辟谣")]
    assert m.findall("ABCD") == ["AB"]  # leftmost first, even when a longer word starts later
    assert m.search("辟谣") and not m.search("") and m.findall("") == []
    assert KeywordMatcher([]).findall("网传") == []


def test_odd_characters_keep_positions() -> None:
    m = KeywordMatcher(["征地", "𠮷野家", "🙂"])
    text = "坏\ud800字🙂𠮷野家征地"
    assert [(s, e, w) for s, e, w in m.finditer(text)] == [(3, 4, "🙂"), (4, 7, "𠮷野家"), (7, 9, "征地")]
    assert all(text[s:e] == w for s, e, w in m.finditer(text))


def test_agrees_with_brute_force_on_random_text() -> None:
    rng = random.Random(7)
    alphabet = "停水电费征地补偿拆迁网传谣言小区物业"
    words = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(60)}
    m = KeywordMatcher(words)
    for _ in range(300):
        text = "".join(rng.choice(alphabet + "，。a1") for _ in range(rng.randint(0, 80)))
        assert list(m.finditer(text)) == brute_force(words, text)


def test_word_table_looks_tokens_up_exactly() -> None:
    table = WordTable(["停水", "物业", "𠮷"])
    tokens = ["小区", "停水", "停", "物业费", "物业", "𠮷", ""]
    cp, offsets = codepoints(tokens)
    assert table.ids(cp, offsets).tolist() == [-1, 0, -1, -1, 1, 2, -1]
    with pytest.raises(ValueError):
        WordTable(["停水", "停水"])
    assert WordTable([]).ids(cp, offsets).tolist() == [-1] * len(tokens)
    assert np.array_equal(*WordTable([]).occurrences(cp)) and WordTable([]).occurrences(cp)[0].size == 0
