"""jieba's segmentation, compiled: the same tokens as ``jieba.lcut(text)`` without Python objects.

``jieba.Tokenizer.cut`` (accurate mode, HMM on) does three things per text: split it into runs
of 汉字/Latin/digits and the rest; cut each run by the most probable path through the DAG of
dictionary words; cut the leftover runs of single characters that are not a word with the HMM
(Viterbi over B/M/E/S). ``CompiledJieba`` does the same steps in one compiled loop (numba) over
the code points of a whole batch and gives each token as a (start, end) span: the models look
the spans up in their vocabularies directly, and no token string is made unless asked for.

The tables are taken from a real ``jieba.Tokenizer`` after its user words were added (its word
frequencies and total, hence the same suggested frequencies) and from ``jieba.finalseg``'s HMM
(and cached as plain arrays, ``CompiledJieba.with_words``),
and the arithmetic is jieba's, in the same order (IEEE doubles either way), so the path chosen
and every tie broken are the same. Tests compare the tokens with jieba's on the shared data.

The dictionary is a trie kept in one hash table: the child of node ``p`` by character ``c`` is
found under the key ``p·2¹⁶ + c``, so a look-up never compares strings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import string
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np

log = logging.getLogger(__name__)

BMP = 0x10000
CACHE_FORMAT = "huiyin.segment/1"  # bumped when the tables change
# Character classes (bits of ``classes[c]``, c < U+10000; other characters have none), from
# jieba's regular expressions.
HAN_RUN = 1  # jieba's re_han_default: 汉字 U+4E00–U+9FD5, a-zA-Z0-9 and + # & . _ % -
HMM_HAN = 2  # finalseg's re_han: 汉字 U+4E00–U+9FD5 (the HMM's alphabet)
ALNUM = 4  # a-zA-Z0-9
DIGIT = 8  # 0-9
MIN_FLOAT = -3.14e100  # jieba.finalseg's "impossible"
# HMM states in the order of their letters (jieba breaks ties between equal scores by letter).
B, E, M, S = 0, 1, 2, 3
_PREV = np.array([[E, S], [B, M], [M, B], [S, E]], dtype=np.int64)  # finalseg.PrevStatus, per state
NODE_BITS = 24  # node ids; keys are (parent id, character): NODE_BITS + 16 bits
_NODE_MASK = np.uint64((1 << NODE_BITS) - 1)
_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_RUN_WORD = re.compile(  # a word made of HAN_RUN characters
    "[\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+")


@dataclass(frozen=True)
class Tables:
    """Everything the compiled loop reads (plain arrays)."""

    classes: np.ndarray  # uint8 (BMP,)
    first: np.ndarray  # int64 (BMP,): node of the one-character prefix, or -1
    slots: np.ndarray  # uint64: key << NODE_BITS | child, EMPTY when free
    weight: np.ndarray  # float64 per node: log(freq or 1) - log(total), as jieba.calc computes it
    is_word: np.ndarray  # bool per node: frequency > 0 (a prefix only has 0)
    start_p: np.ndarray  # float64 (4,)
    trans_p: np.ndarray  # float64 (4, 4), MIN_FLOAT where jieba has no entry
    emit_p: np.ndarray  # float64 (4, BMP), MIN_FLOAT where jieba has no entry
    floor: float  # 0 - log(total): the weight of a character that is no word
    max_len: int  # the longest word


class CompiledJieba:
    """jieba's tokens as spans, from a jieba dictionary (user words included)."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    @classmethod
    def of(cls, tokenizer: Any) -> CompiledJieba:
        """From a ``jieba.Tokenizer`` (its dictionary and the user words added to it)."""
        tokenizer.check_initialized()
        return cls(_build(tokenizer.FREQ, tokenizer.total))

    @classmethod
    def with_words(cls, words: Sequence[str] = (), cache_dir: Path | None = None) -> CompiledJieba:
        """jieba's default dictionary plus ``words`` (added as ``jieba.add_word`` adds them).

        The tables are kept in ``cache_dir`` (default: the temporary directory, where jieba keeps
        its own cache) as plain arrays: building them reads jieba's whole dictionary into Python
        objects, which costs a second and a hundred MB of memory at start-up."""
        import jieba

        source = Path(jieba.__file__).with_name("dict.txt")
        stat = source.stat()
        key = hashlib.sha256(json.dumps([CACHE_FORMAT, jieba.__version__, stat.st_size, stat.st_mtime_ns, list(words)],
                                        ensure_ascii=False).encode()).hexdigest()[:20]
        path = Path(cache_dir or tempfile.gettempdir()) / f"huiyin-jieba-{key}.npz"
        try:
            with np.load(path, allow_pickle=False) as saved:
                return cls(Tables(**{f.name: (saved[f.name] if saved[f.name].ndim else saved[f.name].item())
                                     for f in fields(Tables)}))
        except (OSError, KeyError, ValueError):
            pass  # not built yet (or unreadable): build it
        jieba.setLogLevel(logging.WARNING)
        reference = jieba.Tokenizer()
        reference.initialize()
        for word in words:
            reference.add_word(word)
        compiled = cls.of(reference)
        try:  # written whole, then renamed: a reader never sees half a file
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.stem, suffix=".tmp", delete=False) as handle:
                np.savez(handle, **{f.name: getattr(compiled.tables, f.name) for f in fields(Tables)})
            os.replace(handle.name, path)
        except OSError as exc:
            log.info("compiled jieba tables not cached in %s: %s", path.parent, exc)
        return compiled

    def spans(self, cp: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tokens of the texts ``cp[offsets[i]:offsets[i+1]]``: (per-text offsets into the
        tokens, starts, ends), positions into ``cp``."""
        t = self.tables
        return _segment(np.ascontiguousarray(cp, dtype=np.uint32), np.ascontiguousarray(offsets, dtype=np.int64),
                        t.classes, t.first, t.slots, t.weight, t.is_word, t.start_p, t.trans_p, t.emit_p, t.floor, t.max_len)

    def cut(self, text: str) -> list[str]:
        """``jieba.lcut(text)``."""
        cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        _, starts, ends = self.spans(cp, np.array([0, cp.size], dtype=np.int64))
        return [text[a:b] for a, b in zip(starts.tolist(), ends.tolist())]


def _build(freq: dict[str, int], total: int) -> Tables:
    classes = np.zeros(BMP, dtype=np.uint8)
    classes[0x4E00:0x9FD6] = HAN_RUN | HMM_HAN
    for ch in "+#&._%-":
        classes[ord(ch)] = HAN_RUN
    for ch in string.ascii_letters:
        classes[ord(ch)] = HAN_RUN | ALNUM
    for ch in string.digits:
        classes[ord(ch)] = HAN_RUN | ALNUM | DIGIT
    # Only words made of run characters can ever match (the DAG is built inside runs); parents
    # before children, so that each word's prefix has its node when the word gets its own.
    words = sorted(filter(_RUN_WORD.fullmatch, freq), key=len)
    if len(words) >= (1 << NODE_BITS) - 1:
        raise ValueError(f"dictionary too large for the compiled segmenter: {len(words)} entries")
    node = {w: i for i, w in enumerate(words)}
    singles = [i for i, w in enumerate(words) if len(w) == 1]
    first = np.full(BMP, -1, dtype=np.int64)
    first[[ord(words[i]) for i in singles]] = singles
    longer = range(len(singles), len(words))  # sorted by length: the single characters come first
    keys = np.array([(node[words[i][:-1]] << 16) | ord(words[i][-1]) for i in longer], dtype=np.uint64)
    children = np.array(longer, dtype=np.uint64)
    logtotal = math.log(total)
    counts = [freq[w] for w in words]
    weight = np.array([math.log(f or 1) - logtotal for f in counts], dtype=np.float64)
    is_word = np.array([bool(f) for f in counts], dtype=np.bool_)
    size = 8
    while size < 2 * keys.size:
        size *= 2
    slots = _fill(keys, children, size)

    from jieba.finalseg import emit_P, start_P, trans_P

    letters = "BEMS"
    start_p = np.array([start_P[s] for s in letters], dtype=np.float64)
    trans_p = np.array([[trans_P[a].get(b, MIN_FLOAT) for b in letters] for a in letters], dtype=np.float64)
    emit_p = np.full((4, BMP), MIN_FLOAT, dtype=np.float64)
    for s, table in emit_P.items():
        for ch, p in table.items():
            if len(ch) == 1 and ord(ch) < BMP:
                emit_p[letters.index(s), ord(ch)] = p
    return Tables(classes, first, slots, weight, is_word, start_p, trans_p, emit_p, 0.0 - logtotal,
                  max((len(w) for w in words), default=1))


@nb.njit(cache=True)
def _fill(keys: np.ndarray, children: np.ndarray, size: int) -> np.ndarray:
    slots = np.full(size, _EMPTY, dtype=np.uint64)
    mask = np.uint64(size - 1)
    for i in range(keys.size):
        slot = ((keys[i] * _GOLD) >> np.uint64(32)) & mask
        while slots[slot] != _EMPTY:
            slot = (slot + np.uint64(1)) & mask
        slots[slot] = (keys[i] << np.uint64(NODE_BITS)) | children[i]
    return slots


@nb.njit(inline="always")
def _child(slots, node, c):  # type: ignore[no-untyped-def]
    """The trie node below ``node`` by character ``c``, or -1."""
    if c >= BMP:
        return -1
    key = (np.uint64(node) << np.uint64(16)) | np.uint64(c)
    mask = np.uint64(slots.size - 1)
    slot = ((key * _GOLD) >> np.uint64(32)) & mask
    while True:
        found = slots[slot]
        if found == _EMPTY:
            return -1
        if (found >> np.uint64(NODE_BITS)) == key:
            return np.int64(found & _NODE_MASK)
        slot = (slot + np.uint64(1)) & mask


@nb.njit(inline="always")
def _push(starts, ends, m, a, b):  # type: ignore[no-untyped-def]
    starts[m] = a
    ends[m] = b
    return m + 1


@nb.njit(inline="always")
def _viterbi(cp, a, b, start_p, trans_p, emit_p, v, back, states, starts, ends, m):  # type: ignore[no-untyped-def]
    """finalseg's ``__cut`` of the 汉字 run ``cp[a:b]``: tokens appended at ``m``."""
    n = b - a
    for y in range(4):
        v[0, y] = start_p[y] + emit_p[y, cp[a]]
    for t in range(1, n):
        c = cp[a + t]
        for y in range(4):
            em = emit_p[y, c]
            y0 = _PREV[y, 0]
            best = v[t - 1, y0] + trans_p[y0, y] + em
            arg = y0
            y1 = _PREV[y, 1]
            other = v[t - 1, y1] + trans_p[y1, y] + em
            # max() of (score, letter) tuples: the larger score, on a tie the later letter.
            if other > best or (other == best and y1 > arg):
                best, arg = other, y1
            v[t, y] = best
            back[t, y] = arg
    state = S if v[n - 1, S] >= v[n - 1, E] else E
    states[n - 1] = state
    for t in range(n - 1, 0, -1):
        state = back[t, state]
        states[t - 1] = state
    begin, nexti = 0, 0
    for i in range(n):
        pos = states[i]
        if pos == B:
            begin = i
        elif pos == E:
            m = _push(starts, ends, m, a + begin, a + i + 1)
            nexti = i + 1
        elif pos == S:
            m = _push(starts, ends, m, a + i, a + i + 1)
            nexti = i + 1
    if nexti < n:
        m = _push(starts, ends, m, a + nexti, b)
    return m


@nb.njit(inline="always")
def _finalseg(cp, a, b, classes, start_p, trans_p, emit_p, v, back, states, starts, ends, m):  # type: ignore[no-untyped-def]
    """finalseg's ``cut`` of ``cp[a:b]`` (run characters only): 汉字 runs by the HMM, the rest
    as re_skip splits it (``[a-zA-Z0-9]+(?:\\.\\d+)?%?`` and what lies between)."""
    i = a
    while i < b:
        if classes[cp[i]] & HMM_HAN:
            j = i + 1
            while j < b and classes[cp[j]] & HMM_HAN:
                j += 1
            m = _viterbi(cp, i, j, start_p, trans_p, emit_p, v, back, states, starts, ends, m)
            i = j
            continue
        j = i
        while j < b and not classes[cp[j]] & HMM_HAN:
            j += 1
        # The non-汉字 part cp[i:j]: alternating matches of re_skip and the text between them.
        k = i
        while k < j:
            if classes[cp[k]] & ALNUM:
                e = k + 1
                while e < j and classes[cp[e]] & ALNUM:
                    e += 1
                if e + 1 < j and cp[e] == 46 and classes[cp[e + 1]] & DIGIT:  # "." then digits
                    e += 2
                    while e < j and classes[cp[e]] & DIGIT:
                        e += 1
                if e < j and cp[e] == 37:  # "%"
                    e += 1
            else:
                e = k + 1
                while e < j and not classes[cp[e]] & ALNUM:
                    e += 1
            m = _push(starts, ends, m, k, e)
            k = e
        i = j
    return m


@nb.njit(inline="always")
def _dag(cp, a, b, classes, first, slots, weight, is_word, start_p, trans_p, emit_p, floor,
         is_prefix_word, depth, route_p, route_x, v, back, states, starts, ends, m):  # type: ignore[no-untyped-def]
    """jieba's ``__cut_DAG`` of the run ``cp[a:b]``: tokens appended at ``m``.

    ``is_prefix_word[i, k]`` and ``depth[i]`` record, for the last step, which prefixes of the
    text from ``i`` are words."""
    n = b - a
    route_p[n] = 0.0
    for idx in range(n - 1, -1, -1):
        # calc(): max over the DAG's words from idx (get_DAG's walk down the trie) of
        # (weight + route after the word, end); on a tie the later end.
        c = cp[a + idx]
        node = first[c] if c < BMP else -1
        best = 0.0
        best_x = -1
        x = idx
        depth[idx] = 0
        while node >= 0:
            is_prefix_word[idx, x - idx] = is_word[node]
            depth[idx] = x - idx + 1
            if is_word[node]:
                p = weight[node] + route_p[x + 1]
                if best_x < 0 or p >= best:
                    best, best_x = p, x
            x += 1
            if x >= n:
                break
            node = _child(slots, node, cp[a + x])
        if best_x < 0:  # no word starts here: the character alone
            best, best_x = floor + route_p[idx + 1], idx
        route_p[idx] = best
        route_x[idx] = best_x
    x = 0
    buf = -1  # start of the pending single characters
    while x <= n:
        y = route_x[x] + 1 if x < n else n + 1
        if x < n and y - x == 1:
            if buf < 0:
                buf = x
        else:
            if buf >= 0:
                if x - buf == 1:
                    m = _push(starts, ends, m, a + buf, a + x)
                else:
                    k = x - buf - 1  # the pending characters as one word: a node found above?
                    if k < depth[buf] and is_prefix_word[buf, k]:
                        for j in range(buf, x):
                            m = _push(starts, ends, m, a + j, a + j + 1)
                    else:
                        m = _finalseg(cp, a + buf, a + x, classes, start_p, trans_p, emit_p, v, back, states,
                                      starts, ends, m)
                buf = -1
            if x < n:
                m = _push(starts, ends, m, a + x, a + y)
        if x == n:
            break
        x = y
    return m


@nb.njit(cache=True, nogil=True)
def _segment(cp, offsets, classes, first, slots, weight, is_word, start_p, trans_p, emit_p, floor, max_len):  # type: ignore[no-untyped-def]
    longest = 1
    for t in range(offsets.size - 1):
        longest = max(longest, offsets[t + 1] - offsets[t])
    # Scratch space for the longest text: which prefixes from each position are words, the
    # best route from each position, the HMM's table.
    is_prefix_word = np.empty((longest, max_len), dtype=np.bool_)
    depth = np.empty(longest, dtype=np.int64)
    route_p = np.empty(longest + 1, dtype=np.float64)
    route_x = np.empty(longest + 1, dtype=np.int64)
    v = np.empty((longest, 4), dtype=np.float64)
    back = np.empty((longest, 4), dtype=np.int64)
    states = np.empty(longest, dtype=np.int64)
    # A token is at least one character, except that the HMM may, in degenerate cases, give a
    # word overlapping the character before: at most one token more per character.
    starts = np.empty(2 * cp.size + 1, dtype=np.int64)
    ends = np.empty(2 * cp.size + 1, dtype=np.int64)
    bounds = np.zeros(offsets.size, dtype=np.int64)
    m = 0
    for t in range(offsets.size - 1):
        i, hi = offsets[t], offsets[t + 1]
        while i < hi:
            c = cp[i]
            if c < BMP and classes[c] & HAN_RUN:
                j = i + 1
                while j < hi and cp[j] < BMP and classes[cp[j]] & HAN_RUN:
                    j += 1
                m = _dag(cp, i, j, classes, first, slots, weight, is_word, start_p, trans_p, emit_p, floor,
                         is_prefix_word, depth, route_p, route_x, v, back, states, starts, ends, m)
                i = j
            elif c == 13 and i + 1 < hi and cp[i + 1] == 10:  # "\r\n" is one token
                m = _push(starts, ends, m, i, i + 2)
                i += 2
            else:  # any other character (blank, punctuation, emoji) is a token of its own
                m = _push(starts, ends, m, i, i + 1)
                i += 1
        bounds[t + 1] = m
    return bounds, starts[:m], ends[:m]
