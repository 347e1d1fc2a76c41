"""Compiled inner loops of the judgement (numba): n-gram TF-IDF rows, linear scores, word matching.

What each post costs in the judgement is a few thousand tiny steps (hash an n-gram, look it up,
count it; try a word at a position). As numpy passes over whole batches they cost memory
traffic and temporary arrays; as Python loops they cost far more. Here they are plain loops
compiled once by numba (cached on disk, so later processes only load them) and run without the
GIL, so the API's threads can judge in parallel.

The n-gram hash is the one of ``text.char_keys`` (training computes vocabularies with it): FNV-1a
over the code points, seeded by the feature block's salt and n, top 48 bits kept.
"""

from __future__ import annotations

import numba as nb
import numpy as np

EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)  # a free slot: no 48-bit key and (practically) no word hash
_PRIME = np.uint64(0x100000001B3)
_GOLD = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing spreads the keys over the slots
_DROP = np.uint64(16)  # 64-bit hash → 48-bit key (text.KEY_BITS)
_SHIFT = np.uint64(32)
UNIGRAMS = 1 << 16  # characters with a dense n = 1 entry in an n-gram table
WORD_SEED = np.uint64(0xCBF29CE484222325)  # FNV offset basis, for whole words
# Sublinear tf, 1 + log(count), for the usual small counts (a table read costs less than a log).
_SUBLINEAR = np.concatenate([[0.0], 1.0 + np.log(np.arange(1, 256, dtype=np.float64))])


def table_size(n_keys: int) -> int:
    """Slots for ``n_keys``: a power of two, at most half full (short probe runs)."""
    size = 8
    while size < 2 * n_keys:
        size *= 2
    return size


@nb.njit(cache=True, nogil=True)
def build_table(keys: np.ndarray, size: int) -> np.ndarray:
    """Open-addressing table of ``keys`` (distinct uint64 < 2**64-1) → their positions.

    Slot ``s`` is ``table[2s]`` (key) and ``table[2s + 1]`` (value), so a look-up reads one cache
    line."""
    table = np.full(2 * size, EMPTY, dtype=np.uint64)
    mask = np.uint64(size - 1)
    for i in range(keys.size):
        key = keys[i]
        slot = ((key * _GOLD) >> _SHIFT) & mask
        while table[2 * slot] != EMPTY:
            slot = (slot + np.uint64(1)) & mask
        table[2 * slot] = key
        table[2 * slot + 1] = np.uint64(i)
    return table


@nb.njit(cache=True, nogil=True)
def build_ngram_table(keys: np.ndarray, size: int, salt: int) -> np.ndarray:
    """``build_table`` of n-gram keys, then the column of each single character below U+10000
    (as uint64, ``EMPTY`` → -1 when read as int64) for the n = 1 look-ups."""
    table = build_table(keys, size)
    out = np.empty(table.size + UNIGRAMS, dtype=np.uint64)
    out[: table.size] = table
    mask = np.uint64(size - 1)
    seed = np.uint64(salt * 1_000_003 + 1)
    for c in range(UNIGRAMS):
        col = _lookup(table, mask, ((seed ^ np.uint64(c)) * _PRIME) >> _DROP)
        out[table.size + c] = np.uint64(col) if col >= 0 else EMPTY
    return out


@nb.njit(inline="always")
def _lookup(table: np.ndarray, mask: np.uint64, key: np.uint64) -> int:
    slot = ((key * _GOLD) >> _SHIFT) & mask
    while True:
        found = table[2 * slot]
        if found == key:
            return np.int64(table[2 * slot + 1])
        if found == EMPTY:
            return -1
        slot = (slot + np.uint64(1)) & mask


@nb.njit(inline="always")
def _ngram_cols(cp, start, end, table, lo, hi, salt, offset, out, m, keys, heads):  # type: ignore[no-untyped-def]
    """Append the columns of the n-grams (lo ≤ n ≤ hi) of ``cp[start:end]`` found in ``table``.

    ``table`` is laid out by ``build_table``, followed by a dense column (or -1) for each
    single character below U+10000 (``UNIGRAMS`` entries): the most frequent look-ups then read
    a small array that stays in cache instead of probing the big table. ``keys`` and ``heads``
    are scratch space for one post's longer n-grams."""
    size = (table.size - UNIGRAMS) // 2
    mask = np.uint64(size - 1)
    dense = 2 * size
    for n in range(lo, hi + 1):
        seed = np.uint64(salt * 1_000_003 + n)
        if n == 1:
            for s in range(start, end):
                if cp[s] < UNIGRAMS:
                    col = np.int64(table[dense + cp[s]])
                else:
                    col = _lookup(table, mask, ((seed ^ np.uint64(cp[s])) * _PRIME) >> _DROP)
                if col >= 0:
                    out[m] = col + offset
                    m += 1
            continue
        count = end - n + 1 - start
        if count <= 0:
            continue
        # Keys first, then every first probe, then the branches on what was found. Probing one
        # key after another, a branch on each found slot stalls until that slot arrives from
        # memory; loads with no branch between them are overlapped by the CPU (-20 % here).
        for j in range(count):
            h = seed
            for q in range(n):
                h = (h ^ np.uint64(cp[start + j + q])) * _PRIME
            keys[j] = h >> _DROP
        for j in range(count):
            heads[j] = table[2 * (((keys[j] * _GOLD) >> _SHIFT) & mask)]
        for j in range(count):
            key = keys[j]
            found = heads[j]
            if found == EMPTY:
                continue
            slot = ((key * _GOLD) >> _SHIFT) & mask
            while True:
                found = table[2 * slot]
                if found == key:
                    out[m] = np.int64(table[2 * slot + 1]) + offset
                    m += 1
                    break
                if found == EMPTY:
                    break
                slot = (slot + np.uint64(1)) & mask
    return m


@nb.njit(cache=True, nogil=True)
def tfidf_rows(
    word_cols: np.ndarray, word_off: np.ndarray,
    body_cp: np.ndarray, body_off: np.ndarray, body_table: np.ndarray, body_lo: int, body_hi: int,
    body_salt: int, body_col: int,
    title_cp: np.ndarray, title_off: np.ndarray, title_table: np.ndarray, title_lo: int, title_hi: int,
    title_salt: int, title_col: int,
    weights: np.ndarray, k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CSR rows (indptr, indices, data) of a batch: three TF-IDF blocks, each L2-normalised; and
    with ``k`` > 0 the scores ``X @ weights[:, :k]`` (else an (n, 0) array).

    ``word_cols`` are the word-block columns of every token (-1: not a feature), post ``i``'s
    tokens at ``word_off[i]:word_off[i+1]``; ``*_cp``/``*_off`` the code points of each post's
    body and title text; ``*_col`` the first column of the n-gram blocks. Values are sublinear
    tf × idf, the idf of column c being ``weights[c, -1]``: a model keeps its coefficients and
    idf in one row per feature (``LinearTextModel``), so one memory read serves both. A row's
    columns come in order of first occurrence.

    The scores are summed per block from the unnormalised values, while a feature's weight row is
    in cache for its idf, and divided by the block's norm at the end: one pass over the
    features instead of two (float64 sums of float64 products)."""
    n = word_off.size - 1
    longest = 0
    total = 0
    for i in range(n):
        size = word_off[i + 1] - word_off[i]
        bl = body_off[i + 1] - body_off[i]
        for g in range(body_lo, body_hi + 1):
            size += max(0, bl - g + 1)
        tl = title_off[i + 1] - title_off[i]
        for g in range(title_lo, title_hi + 1):
            size += max(0, tl - g + 1)
        longest = max(longest, size)
        total += size
    size = 8
    while size < 2 * longest:
        size *= 2
    mask = size - 1
    slot_col = np.full(size, -1, dtype=np.int64)
    slot_count = np.zeros(size, dtype=np.int32)
    touched = np.empty(max(1, longest), dtype=np.int64)
    found = np.empty(max(1, longest), dtype=np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices = np.empty(total, dtype=np.int32)
    data = np.empty(total, dtype=np.float32)
    vals = np.empty(max(1, longest), dtype=np.float64)
    keys = np.empty(max(1, longest), dtype=np.uint64)
    heads = np.empty(max(1, longest), dtype=np.uint64)
    idf_at = weights.shape[1] - 1
    scores = np.zeros((n, k))
    width = weights.shape[1] if k > 0 else 0
    acc = np.zeros(max(1, 3 * width))
    norms = np.zeros(3)
    nnz = 0
    for i in range(n):
        m = 0
        for j in range(word_off[i], word_off[i + 1]):
            if word_cols[j] >= 0:
                found[m] = word_cols[j]
                m += 1
        m = _ngram_cols(body_cp, body_off[i], body_off[i + 1], body_table, body_lo, body_hi, body_salt,
                        body_col, found, m, keys, heads)
        m = _ngram_cols(title_cp, title_off[i], title_off[i + 1], title_table, title_lo, title_hi,
                        title_salt, title_col, found, m, keys, heads)
        # Count the columns with a small per-post hash map (cleared through ``touched``).
        distinct = 0
        for j in range(m):
            col = found[j]
            slot = (col * 0x9E3779B1) & mask
            while slot_col[slot] != -1 and slot_col[slot] != col:
                slot = (slot + 1) & mask
            if slot_col[slot] == -1:
                slot_col[slot] = col
                touched[distinct] = slot
                distinct += 1
            slot_count[slot] += 1
        # Scores per block while the weight row is in cache for the idf; each block's sum is
        # divided by its norm at the end (the same as scoring the normalised values).
        for b in range(3):
            norms[b] = 0.0
        for d in range(distinct):
            slot = touched[d]
            col = slot_col[slot]
            count = slot_count[slot]
            v = (_SUBLINEAR[count] if count < _SUBLINEAR.size else 1.0 + np.log(count)) * weights[col, idf_at]
            vals[d] = v
            block = 0 if col < body_col else (1 if col < title_col else 2)
            norms[block] += v * v
            base = block * width
            for c in range(width):
                acc[base + c] += v * weights[col, c]
        for b in range(3):
            norms[b] = np.sqrt(norms[b])
        for c in range(k):
            total = 0.0
            for b in range(3):
                if norms[b] > 0:
                    total += acc[b * width + c] / norms[b]
            scores[i, c] = total
        for c in range(3 * width):
            acc[c] = 0.0
        for d in range(distinct):
            slot = touched[d]
            col = slot_col[slot]
            block = 0 if col < body_col else (1 if col < title_col else 2)
            indices[nnz] = col
            data[nnz] = np.float32(vals[d] / norms[block] if norms[block] > 0 else 0.0)
            nnz += 1
            slot_col[slot] = -1
            slot_count[slot] = 0
        indptr[i + 1] = nnz
    return indptr, indices[:nnz], data[:nnz], scores


@nb.njit(cache=True, nogil=True)
def word_hashes(cp: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """FNV-1a hash of each word (code points ``cp[offsets[i]:offsets[i+1]]``)."""
    out = np.empty(offsets.size - 1, dtype=np.uint64)
    for i in range(offsets.size - 1):
        h = WORD_SEED
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(cp[j])) * _PRIME
        out[i] = h
    return out


@nb.njit(inline="always")
def _find_word(table, mask, key, cp, start, length, words_cp, words_off):  # type: ignore[no-untyped-def]
    """Id of the word whose hash is ``key`` and whose characters are ``cp[start:start+length]``,
    or -1 (a hash hit is checked character by character)."""
    slot = ((key * _GOLD) >> _SHIFT) & mask
    while table[2 * slot] != EMPTY:
        if table[2 * slot] == key:
            wid = np.int64(table[2 * slot + 1])
            w0 = words_off[wid]
            if words_off[wid + 1] - w0 == length:
                same = True
                for k in range(length):
                    if words_cp[w0 + k] != cp[start + k]:
                        same = False
                        break
                if same:
                    return wid
        slot = (slot + np.uint64(1)) & mask
    return -1


@nb.njit(inline="always")
def pair_slot(a: int, b: int) -> int:
    """Slot of the two-character start (a, b) in a table of 2**16 flags."""
    return ((np.int64(a) * 40503) ^ np.int64(b)) & 0xFFFF


@nb.njit(inline="always")
def _match_range(cp, lo, hi, table, has_len, first, pairs, words_cp, words_off, starts, ids, m, hashes):  # type: ignore[no-untyped-def]
    """Occurrences in ``cp[lo:hi]`` appended at ``m`` (starts relative to ``lo``); the new ``m``."""
    max_len = has_len.size - 1
    mask = np.uint64(table.size // 2 - 1)
    i = lo
    while i < hi:
        c = cp[i]
        top = min(max_len, hi - i)
        if c < first.size:
            flags = first[c]
            if flags == 0:
                i += 1
                continue
            if top > 1 and not pairs[pair_slot(c, cp[i + 1])]:
                if not flags & 1:
                    i += 1
                    continue
                top = 1  # only a one-character word can start here
        h = WORD_SEED
        for length in range(1, top + 1):
            h = (h ^ np.uint64(cp[i + length - 1])) * _PRIME
            hashes[length] = h
        hit, hit_len = -1, 0
        for length in range(top, 0, -1):
            if has_len[length]:
                hit = _find_word(table, mask, hashes[length], cp, i, length, words_cp, words_off)
                if hit >= 0:
                    hit_len = length
                    break
        if hit >= 0:
            starts[m] = i - lo
            ids[m] = hit
            m += 1
            i += hit_len
        else:
            i += 1
    return m


@nb.njit(cache=True, nogil=True)
def match_many(
    cp: np.ndarray, offsets: np.ndarray, table: np.ndarray, has_len: np.ndarray, first: np.ndarray,
    pairs: np.ndarray, words_cp: np.ndarray, words_off: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leftmost-longest, non-overlapping occurrences of the words in each text
    ``cp[offsets[i]:offsets[i+1]]``, in one call: (per-text offsets into the results, starts
    within each text, word ids).

    ``table`` maps word hashes (``word_hashes``) to word ids; ``has_len[n]`` says some word has
    n characters; ``first[c]`` (c < 65536; any other character is tried) has bit 0 set if c is a
    word, bit 1 if a longer word starts with c; ``pairs[pair_slot(a, b)]`` is set for the first
    two characters of every longer word. Most positions are ruled out by these two looks alone.
    Hash matches are checked character by character."""
    starts = np.empty(cp.size, dtype=np.int64)
    ids = np.empty(cp.size, dtype=np.int64)
    hashes = np.empty(has_len.size, dtype=np.uint64)
    bounds = np.zeros(offsets.size, dtype=np.int64)
    m = 0
    for t in range(offsets.size - 1):
        m = _match_range(cp, offsets[t], offsets[t + 1], table, has_len, first, pairs, words_cp, words_off,
                         starts, ids, m, hashes)
        bounds[t + 1] = m
    return bounds, starts[:m], ids[:m]


def codepoints(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(code points, offsets) of texts laid end to end: text ``i`` is ``cp[off[i]:off[i+1]]``."""
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), out=offsets[1:])
    cp = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return cp, offsets


@nb.njit(cache=True, nogil=True)
def lookup_words(
    cp: np.ndarray, starts: np.ndarray, ends: np.ndarray, table: np.ndarray, words_cp: np.ndarray,
    words_off: np.ndarray,
) -> np.ndarray:
    """Id of each token ``cp[starts[i]:ends[i]]`` among the words of ``table``, or -1."""
    mask = np.uint64(table.size // 2 - 1)
    out = np.full(starts.size, -1, dtype=np.int64)
    for i in range(starts.size):
        start, length = starts[i], ends[i] - starts[i]
        h = WORD_SEED
        for j in range(start, start + length):
            h = (h ^ np.uint64(cp[j])) * _PRIME
        out[i] = _find_word(table, mask, h, cp, start, length, words_cp, words_off)
    return out
