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
HALF = np.uint64(0xFFFFFFFF)  # no column (in either half of a packed n-gram value)
_HALF_INT = 0xFFFFFFFF
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
def build_ngram_table(keys: np.ndarray, values: np.ndarray, size: int, salt: int) -> np.ndarray:
    """``build_table`` of n-gram keys holding ``values`` instead of positions, then the value of
    each single character below U+10000 (``EMPTY`` when it is no key) for the n = 1 look-ups.

    A value packs the columns of two models (``pack_columns``), so that one look-up serves two
    models reading the same text; a model that lacks the n-gram has ``HALF`` there."""
    table = build_table(keys, size)
    for s in range(size):
        if table[2 * s] != EMPTY:
            table[2 * s + 1] = values[table[2 * s + 1]]
    out = np.empty(table.size + UNIGRAMS, dtype=np.uint64)
    out[: table.size] = table
    mask = np.uint64(size - 1)
    seed = np.uint64(salt * 1_000_003 + 1)
    for c in range(UNIGRAMS):
        out[table.size + c] = _lookup(table, mask, ((seed ^ np.uint64(c)) * _PRIME) >> _DROP)
    return out


def pack_columns(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two models' columns (-1: the model lacks the key) as the values of ``build_ngram_table``."""
    low = np.where(first >= 0, first, _HALF_INT).astype(np.uint64)
    high = np.where(second >= 0, second, _HALF_INT).astype(np.uint64)
    return low | (high << np.uint64(32))


@nb.njit(inline="always")
def _lookup(table: np.ndarray, mask: np.uint64, key: np.uint64) -> np.uint64:
    slot = ((key * _GOLD) >> _SHIFT) & mask
    while True:
        found = table[2 * slot]
        if found == key:
            return table[2 * slot + 1]
        if found == EMPTY:
            return EMPTY
        slot = (slot + np.uint64(1)) & mask


@nb.njit(inline="always")
def _unpack(packed, count, off_a, out_a, m_a, off_b, out_b, m_b):  # type: ignore[no-untyped-def]
    """Append the two models' columns packed in ``packed[:count]`` (each where the model has one)."""
    for j in range(count):
        value = packed[j]
        a = value & HALF
        if a != HALF:
            out_a[m_a] = np.int64(a) + off_a
            m_a += 1
        b = value >> np.uint64(32)
        if b != HALF:
            out_b[m_b] = np.int64(b) + off_b
            m_b += 1
    return m_a, m_b


@nb.njit(inline="always")
def _ngram_values(cp, start, end, table, lo, hi, salt, out, m, keys, heads):  # type: ignore[no-untyped-def]
    """Append the values of the n-grams (lo ≤ n ≤ hi) of ``cp[start:end]`` found in ``table``.

    ``table`` is laid out by ``build_ngram_table``: after the hash table, a dense value for each
    single character below U+10000 (``UNIGRAMS`` entries), so that the most frequent look-ups
    read a small array that stays in cache instead of probing the big table. ``keys`` and
    ``heads`` are scratch space for one post's longer n-grams. The values are unpacked apart
    (``_unpack``): branches on them in these loops would slow the probes."""
    size = (table.size - UNIGRAMS) // 2
    mask = np.uint64(size - 1)
    dense = 2 * size
    for n in range(lo, hi + 1):
        seed = np.uint64(salt * 1_000_003 + n)
        if n == 1:
            for s in range(start, end):
                if cp[s] < UNIGRAMS:
                    value = table[dense + cp[s]]
                else:
                    value = _lookup(table, mask, ((seed ^ np.uint64(cp[s])) * _PRIME) >> _DROP)
                if value != EMPTY:
                    out[m] = value
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
            if heads[j] == EMPTY:
                continue
            slot = ((key * _GOLD) >> _SHIFT) & mask
            while True:
                found = table[2 * slot]
                if found == key:
                    out[m] = table[2 * slot + 1]
                    m += 1
                    break
                if found == EMPTY:
                    break
                slot = (slot + np.uint64(1)) & mask
    return m


@nb.njit(inline="always")
def _row(found, m, weights, k, body_col, title_col, i, scratch, indices, data, nnz, scores):  # type: ignore[no-untyped-def]
    """One post's TF-IDF row (three blocks, each L2-normalised) from the columns ``found[:m]``
    (with repeats), appended to the CSR arrays at ``nnz``, and its scores ``scores[i]``; the new
    ``nnz``.

    The scores are summed per block from the unnormalised values, while a feature's weight row
    is in cache for its idf, and divided by the block's norm at the end: one pass over the
    features instead of two (float64 sums of float64 products)."""
    slot_col, slot_count, touched, vals, acc, norms = scratch
    mask = slot_col.size - 1
    idf_at = weights.shape[1] - 1
    width = weights.shape[1] if k > 0 else 0
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
    for b in range(3):
        norms[b] = 0.0
    if width == 8:
        # Eight classes' sums in registers (the usual row width): the columns of a block come
        # one after the other (words, body, title are collected in that order).
        d = 0
        while d < distinct:
            col = slot_col[touched[d]]
            block = 0 if col < body_col else (1 if col < title_col else 2)
            hi_col = body_col if block == 0 else (title_col if block == 1 else 1 << 62)
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
            sq = 0.0
            while d < distinct:
                slot = touched[d]
                col = slot_col[slot]
                if col >= hi_col:
                    break
                count = slot_count[slot]
                v = (_SUBLINEAR[count] if count < _SUBLINEAR.size else 1.0 + np.log(count)) * weights[col, 7]
                vals[d] = v
                sq += v * v
                s0 += v * weights[col, 0]
                s1 += v * weights[col, 1]
                s2 += v * weights[col, 2]
                s3 += v * weights[col, 3]
                s4 += v * weights[col, 4]
                s5 += v * weights[col, 5]
                s6 += v * weights[col, 6]
                s7 += v * weights[col, 7]
                d += 1
            base = block * 8
            norms[block] += sq
            acc[base] += s0
            acc[base + 1] += s1
            acc[base + 2] += s2
            acc[base + 3] += s3
            acc[base + 4] += s4
            acc[base + 5] += s5
            acc[base + 6] += s6
            acc[base + 7] += s7
    else:
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
        score = 0.0
        for b in range(3):
            if norms[b] > 0:
                score += acc[b * width + c] / norms[b]
        scores[i, c] = score
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
    return nnz


@nb.njit(cache=True, nogil=True)
def tfidf_rows(
    word_a: np.ndarray, word_b: np.ndarray, word_off: np.ndarray,
    body_cp: np.ndarray, body_off: np.ndarray, body_table: np.ndarray, body_lo: int, body_hi: int,
    body_salt: int,
    title_cp: np.ndarray, title_off: np.ndarray, title_table: np.ndarray, title_lo: int, title_hi: int,
    title_salt: int,
    cols_a: np.ndarray, weights_a: np.ndarray, k_a: int,
    cols_b: np.ndarray, weights_b: np.ndarray, k_b: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CSR rows (indptr, indices, data) of a batch for two models reading the same texts — three
    TF-IDF blocks, each L2-normalised — and the scores ``X @ weights[:, :k]`` of each (an (n, 0)
    array when k is 0); one pass over the texts serves both. A single model is the first, with
    a second that has no columns.

    ``word_a``/``word_b`` are each model's word-block column of every token (-1: not a feature),
    post ``i``'s tokens at ``word_off[i]:word_off[i+1]``; ``*_cp``/``*_off`` the code points of
    each post's body and title text; the tables (``build_ngram_table``) hold both models'
    n-gram columns; ``cols_*`` the first column of the body and the title block of each model.
    Values are sublinear tf × idf, the idf of column c being ``weights[c, -1]``: a model keeps
    its coefficients and idf in one row per feature (``LinearTextModel``), so one memory read
    serves both. A row's columns come in order of first occurrence."""
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
    room = max(1, longest)
    scratch = (np.full(size, -1, dtype=np.int64), np.zeros(size, dtype=np.int32), np.empty(room, dtype=np.int64),
               np.empty(room, dtype=np.float64), np.zeros(max(1, 3 * max(weights_a.shape[1], weights_b.shape[1]))),
               np.zeros(3))
    found_a = np.empty(room, dtype=np.int64)
    found_b = np.empty(room, dtype=np.int64)
    keys = np.empty(room, dtype=np.uint64)
    heads = np.empty(room, dtype=np.uint64)
    packed = np.empty(room, dtype=np.uint64)
    indptr_a = np.zeros(n + 1, dtype=np.int64)
    indices_a = np.empty(total, dtype=np.int32)
    data_a = np.empty(total, dtype=np.float32)
    scores_a = np.zeros((n, k_a))
    indptr_b = np.zeros(n + 1, dtype=np.int64)
    indices_b = np.empty(total, dtype=np.int32)
    data_b = np.empty(total, dtype=np.float32)
    scores_b = np.zeros((n, k_b))
    nnz_a = nnz_b = 0
    for i in range(n):
        m_a = m_b = 0
        for j in range(word_off[i], word_off[i + 1]):
            if word_a[j] >= 0:
                found_a[m_a] = word_a[j]
                m_a += 1
            if word_b[j] >= 0:
                found_b[m_b] = word_b[j]
                m_b += 1
        p = _ngram_values(body_cp, body_off[i], body_off[i + 1], body_table, body_lo, body_hi, body_salt,
                          packed, 0, keys, heads)
        m_a, m_b = _unpack(packed, p, cols_a[0], found_a, m_a, cols_b[0], found_b, m_b)
        p = _ngram_values(title_cp, title_off[i], title_off[i + 1], title_table, title_lo, title_hi, title_salt,
                          packed, 0, keys, heads)
        m_a, m_b = _unpack(packed, p, cols_a[1], found_a, m_a, cols_b[1], found_b, m_b)
        nnz_a = _row(found_a, m_a, weights_a, k_a, cols_a[0], cols_a[1], i, scratch, indices_a, data_a, nnz_a, scores_a)
        indptr_a[i + 1] = nnz_a
        nnz_b = _row(found_b, m_b, weights_b, k_b, cols_b[0], cols_b[1], i, scratch, indices_b, data_b, nnz_b, scores_b)
        indptr_b[i + 1] = nnz_b
    return (indptr_a, indices_a[:nnz_a], data_a[:nnz_a], scores_a,
            indptr_b, indices_b[:nnz_b], data_b[:nnz_b], scores_b)


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
