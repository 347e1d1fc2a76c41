"""Text preparation shared by training and prediction: normalisation, title, character n-grams.

Character n-grams are never built as Python strings: each becomes a 48-bit key, the top bits of
a 64-bit FNV-1a-style hash of its code points salted by the feature block and n. ``char_keys``
computes them with numpy (training's vocabularies, the evidence of one post); the compiled loop
of ``kernels.tfidf_rows`` computes the same keys for prediction, and a test holds the two equal.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np

# Bodies are read up to this many characters: the field is decided early in a post, and it
# bounds the cost of a 100 KB paste. Titles are short; longer ones are cut too.
MAX_BODY_CHARS = 3000
MAX_TITLE_CHARS = 120
# Without a separate title, a first line (or first sentence) this short plays the title.
TITLE_GUESS_CHARS = 60

_SURROGATE = re.compile("[\ud800-\udfff]")
_FIRST_SENTENCE = re.compile(r"^(.{4,%d}?)[。！？!?\n]" % TITLE_GUESS_CHARS)
_BRACKET_TITLE = re.compile(r"^\s*【([^】]{2,%d})】" % TITLE_GUESS_CHARS)

_PRIME = np.uint64(0x100000001B3)
KEY_BITS = 48
_DROP = np.uint64(64 - KEY_BITS)


def without_surrogates(text: str) -> str:
    """``text`` with lone surrogates (from broken JSON escapes) as U+FFFD: they cannot be encoded,
    so a segmenter or a database would fail on them."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def normalize(text: str | None) -> str:
    """NFKC (full-width → half-width), lower case, runs of blanks → one space, trimmed."""
    if not text:
        return ""
    text = without_surrogates(text)
    # Full-width punctuation (，：（）) fails NFKC's quick check, so ``normalize`` would take its
    # slow path on nearly every Chinese post. Replacing those characters by their compatibility
    # decomposition first gives the same NFKD (it is char by char, then reordered), hence the same
    # NFKC, and the result then usually passes the quick check. The few common ones are replaced
    # with ``str.replace`` (a C scan each); ``str.translate`` with a dict costs more per character
    # than the rest of the normalisation.
    table = _nfkd_table()
    for ch, decomposed in _common_replacements():
        if ch in text:
            text = text.replace(ch, decomposed)
    if _rare_chars().search(text):
        text = _rare_chars().sub(lambda m: table[ord(m.group())], text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    # str.split() splits at the characters regex \s matches (both use Py_UNICODE_ISSPACE), so
    # this is re.sub(r"\s+", " ", ...).strip() at a fraction of the cost.
    return " ".join(text.lower().split())


# The characters of the table most frequent in Chinese posts (full-width punctuation).
_COMMON = "，！？：）（；．％－～＂／"


@lru_cache(maxsize=1)
def _common_replacements() -> tuple[tuple[str, str], ...]:
    table = _nfkd_table()
    return tuple((ch, table[ord(ch)]) for ch in _COMMON if ord(ch) in table)


@lru_cache(maxsize=1)
def _rare_chars() -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_nfkd_table())) + "]")


@lru_cache(maxsize=1)
def _nfkd_table() -> dict[int, str]:
    """BMP characters whose NFKC equals their full NFKD and differs from them → that NFKD."""
    table: dict[int, str] = {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        decomposed = unicodedata.normalize("NFKD", ch)
        if decomposed != ch and unicodedata.normalize("NFKC", ch) == decomposed:
            table[code] = decomposed
    return table


def title_and_body(title: str | None, body: str | None) -> tuple[str, str]:
    """Normalised, length-capped (title, body).

    With no title (a Weibo post, or the judgement's joined ``title\\ntext``), a leading
    【headline】 or a short first line/sentence is taken as the title, so posts look like the
    training rows (which have a separate title column).
    """
    body = body or ""
    if not (title and title.strip()):
        title, body = guess_title(body)
    return normalize(title)[:MAX_TITLE_CHARS], normalize(body[: MAX_BODY_CHARS * 2])[:MAX_BODY_CHARS]


def guess_title(text: str) -> tuple[str, str]:
    """(title, rest) of a text without a separate title; the title may be empty."""
    head = text.lstrip()[: TITLE_GUESS_CHARS + 2]
    match = _BRACKET_TITLE.match(head)
    if match:
        return match.group(1), text.lstrip()[match.end() :]
    first, sep, rest = text.strip().partition("\n")
    if sep and len(first.strip()) <= TITLE_GUESS_CHARS:
        return first, rest
    match = _FIRST_SENTENCE.match(head)
    if match:
        return match.group(1), text.lstrip()[match.end() :]
    return "", text


def char_keys(text: str, lo: int, hi: int, salt: int, *, with_positions: bool = False):  # type: ignore[no-untyped-def]
    """48-bit keys of the character n-grams (lo ≤ n ≤ hi) of ``text``.

    With ``with_positions`` also the start and length of each n-gram (for evidence).
    """
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    keys, starts, lengths = [], [], []
    size = cp.shape[0]
    for n in range(lo, hi + 1):
        m = size - n + 1
        if m <= 0:
            break
        h = np.full(m, np.uint64((salt * 1_000_003 + n) & 0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
        for k in range(n):
            h ^= cp[k : k + m]
            h *= _PRIME  # wraps modulo 2**64, as FNV intends
        keys.append(h >> _DROP)
        if with_positions:
            starts.append(np.arange(m, dtype=np.int32))
            lengths.append(np.full(m, n, dtype=np.int8))
    if not keys:
        empty = np.empty(0, dtype=np.uint64)
        return (empty, np.empty(0, np.int32), np.empty(0, np.int8)) if with_positions else empty
    if with_positions:
        return np.concatenate(keys), np.concatenate(starts), np.concatenate(lengths)
    return np.concatenate(keys)
