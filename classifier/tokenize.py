"""Chinese word segmentation behind one function, so the backend can be swapped.

``tokenize(text)`` cuts a text into words with the configured backend: ``compiled`` (the
default: jieba's own dictionary and algorithm compiled with numba, ``segment.CompiledJieba``, which
cuts a batch into token spans without making strings), ``rjieba`` (a Rust port that gives jieba's
tokens about 17 times faster) or ``jieba`` (the reference). All get the same user words through
``add_word``, so place and department names of the org directory and field keywords come out as
single tokens.

>>> configure(backend="compiled", extra_words=["建北街道"])  # doctest: +SKIP
>>> tokenize("长安区建北街道供暖不热")  # doctest: +SKIP
['长安区', '建北街道', '供暖', '不热']

The org directory is not imported here: callers pass plain word lists, e.g. built by
``user_words(names=..., keywords=...)`` from ``OrgDirectory`` jurisdictions, units and fields.
"""

from __future__ import annotations

import logging
import re
import threading
from bisect import bisect_right
from itertools import accumulate
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Literal, Protocol

import numpy as np

from huiyin.classifier.segment import CompiledJieba
from huiyin.config.errors import ConfigError

Backend = Literal["compiled", "jieba", "rjieba"]
BACKENDS: tuple[Backend, ...] = ("compiled", "rjieba", "jieba")
DEFAULT_BACKEND: Backend = "compiled"
# Token spans of a batch: (per-text offsets into the tokens, starts, ends), positions into the
# code points of the texts laid end to end.
Spans = tuple[np.ndarray, np.ndarray, np.ndarray]

# A token is kept as a feature only if it holds a letter, digit or CJK character.
_WORDLIKE = re.compile(r"\w", re.UNICODE)
# rjieba keeps Latin/digit runs joined by - _ . together (Wi-Fi, 2019-12-30, a.com) where jieba
# splits them; this is jieba's own pattern for such runs (decimals like 3.5 stay whole).
_JOINED = re.compile(r"[-_.]")
# Only an ASCII token holding one of - _ . and some other character is split, so somewhere in
# it another ASCII character touches a run of them: a text without such a run needs no look at
# its tokens.
_JOINER_RUN = re.compile(r"[-_.]+")
_JIEBA_ASCII = re.compile(r"[a-zA-Z0-9]+(?:\.\d+)?%?|[-_.]+|.", re.S)


class _Cutter(Protocol):
    def cut(self, text: str) -> list[str]: ...

    def cut_plain(self, text: str) -> list[str]: ...

    def needs_fixing(self, text: str) -> bool: ...

    def fix(self, text: str, tokens: list[str]) -> list[str]: ...

    def add_word(self, word: str) -> None: ...

    def spans(self, cp: np.ndarray, offsets: np.ndarray) -> Spans | None: ...


class _RJieba:
    def __init__(self) -> None:
        import rjieba

        self._impl = rjieba.Jieba()  # own instance: user words never leak into rjieba's global one

    def cut(self, text: str) -> list[str]:
        tokens = self._impl.cut(text, True)
        return self.fix(text, tokens) if self.needs_fixing(text) else tokens

    def fix(self, text: str, tokens: list[str]) -> list[str]:
        """rjieba's ``tokens`` of ``text`` as jieba cuts them."""
        # Only a token holding a - _ . run can differ: find the runs in C, and the tokens holding
        # their first and last characters by bisection of the token ends, instead of a Python
        # loop over every token.
        ends = list(accumulate(map(len, tokens)))
        candidates: list[int] = []
        for m in _JOINER_RUN.finditer(text):
            candidates += (bisect_right(ends, m.start()), bisect_right(ends, m.end() - 1))
        out: list[str] = []
        done = 0
        for i in sorted(set(candidates)):
            out += tokens[done:i]
            out += _as_jieba(tokens[i])
            done = i + 1
        out += tokens[done:]
        return out

    def cut_plain(self, text: str) -> list[str]:
        """The segmentation as it comes, for texts that need no fixing."""
        return self._impl.cut(text, True)

    @staticmethod
    def needs_fixing(text: str) -> bool:
        """True if some token of ``text`` may differ from jieba's (an ASCII character next to - _ .)."""
        # Scanning for the rare - _ . runs and looking at their two neighbours is several times
        # faster than a regex with a character class on either side of them.
        for m in _JOINER_RUN.finditer(text):
            start, end = m.start(), m.end()
            if (start and text[start - 1] < "\x80") or (end < len(text) and text[end] < "\x80"):
                return True
        return False

    def add_word(self, word: str) -> None:
        self._impl.add_word(word, None, None)  # None: suggested frequency, as jieba does

    @staticmethod
    def spans(cp: np.ndarray, offsets: np.ndarray) -> None:
        return None  # cut_many's strings it is


def _as_jieba(tok: str) -> list[str]:
    """An rjieba token as jieba would cut it (only Latin/digit runs joined by - _ . differ)."""
    if len(tok) > 1 and tok.isascii() and _JOINED.search(tok) and tok.strip("-_."):
        return _JIEBA_ASCII.findall(tok)
    return [tok]


class _Jieba:
    def __init__(self) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter goes to stderr otherwise
        self._impl = jieba.Tokenizer()
        self._impl.initialize()

    def cut(self, text: str) -> list[str]:
        return self._impl.lcut(text, HMM=True)

    cut_plain = cut

    @staticmethod
    def needs_fixing(text: str) -> bool:
        return False

    @staticmethod
    def fix(text: str, tokens: list[str]) -> list[str]:
        return tokens

    def add_word(self, word: str) -> None:
        self._impl.add_word(word)

    @staticmethod
    def spans(cp: np.ndarray, offsets: np.ndarray) -> None:
        return None


class _Compiled:
    """jieba's dictionary (user words added by jieba itself), cut by ``CompiledJieba``."""

    def __init__(self) -> None:
        self._words: list[str] = []
        self._impl: CompiledJieba | None = None
        self._lock = threading.Lock()

    def _compiled(self) -> CompiledJieba:
        impl = self._impl
        if impl is None:
            with self._lock:  # built once, on first use: all user words are in by then
                if self._impl is None:
                    self._impl = _compiled_jieba(tuple(self._words))
                impl = self._impl
        return impl

    def cut(self, text: str) -> list[str]:
        return self._compiled().cut(text)

    cut_plain = cut

    @staticmethod
    def needs_fixing(text: str) -> bool:
        return False

    @staticmethod
    def fix(text: str, tokens: list[str]) -> list[str]:
        return tokens

    def add_word(self, word: str) -> None:
        with self._lock:
            self._words.append(word)
            self._impl = None

    def spans(self, cp: np.ndarray, offsets: np.ndarray) -> Spans:
        return self._compiled().spans(cp, offsets)


@lru_cache(maxsize=4)
def _compiled_jieba(words: tuple[str, ...]) -> CompiledJieba:
    """The compiled tables for jieba's dictionary plus ``words`` (one per process)."""
    return CompiledJieba.with_words(words)


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """The shipped stop words (``classifier/data/stopwords.txt``)."""
    text = resources.files("huiyin.classifier").joinpath("data/stopwords.txt").read_text(encoding="utf-8")
    return frozenset(w for w in (line.split("#", 1)[0].strip() for line in text.splitlines()) if w)


def user_words(*, names: Iterable[str] = (), keywords: Iterable[str] = ()) -> list[str]:
    """Deduplicated user words from org names (places, units, fields) and field keywords.

    Single characters and blanks are dropped: they would only break the segmentation.
    """
    seen: dict[str, None] = {}
    for word in (*names, *keywords):
        word = (word or "").strip()
        if len(word) >= 2 and not any(ch.isspace() for ch in word):
            seen.setdefault(word, None)
    return list(seen)


class Tokenizer:
    """One segmentation backend with its user words and stop words.

    ``words(text)`` gives the feature tokens: stop words, punctuation and blanks removed.
    The instance is safe to share between threads (the backends' cut is read-only).
    """

    def __init__(self, backend: Backend = DEFAULT_BACKEND, extra_words: Iterable[str] = (), *, use_stop_words: bool = True) -> None:
        if backend not in BACKENDS:
            raise ConfigError(f"unknown tokenizer backend {backend!r}, expected one of {BACKENDS}", key="classifier.tokenizer")
        self.backend: Backend = backend
        self._cutter: _Cutter = {"compiled": _Compiled, "rjieba": _RJieba, "jieba": _Jieba}[backend]()
        self.extra_words: tuple[str, ...] = tuple(user_words(names=extra_words))
        for word in self.extra_words:
            self._cutter.add_word(word)
        self._stop = stop_words() if use_stop_words else frozenset()

    def cut(self, text: str) -> list[str]:
        """All tokens, punctuation and spaces included (what ``jieba.lcut`` gives)."""
        return self._cutter.cut(text) if text else []

    def cut_many(self, texts: Sequence[str]) -> tuple[list[str], list[int]]:
        """All tokens of several texts, and offsets: text ``i``'s are ``tokens[off[i]:off[i+1]]``.

        The texts without a line break are cut in one call, joined by line breaks: segmentation
        never crosses one (it splits the input at every blank first), and one call per batch
        costs less than one per text. The line-break tokens are left out, and the few texts
        whose tokens may differ from jieba's are fixed on their own slice (as ``cut`` does).
        Texts with a line break are cut one by one."""
        cutter = self._cutter
        plain = [i for i, t in enumerate(texts) if t and "\n" not in t]
        parts: list[list[str] | None] = [None] * len(texts)
        if plain:
            joined = cutter.cut_plain("\n".join(texts[i] for i in plain))
            start = 0
            for i in plain[:-1]:
                end = joined.index("\n", start)
                parts[i] = joined[start:end]
                start = end + 1
            parts[plain[-1]] = joined[start:]
            for i in plain:
                if cutter.needs_fixing(texts[i]):
                    parts[i] = cutter.fix(texts[i], parts[i])  # type: ignore[arg-type]
        tokens: list[str] = []
        offsets = [0]
        for i, text in enumerate(texts):
            part = parts[i]
            tokens += part if part is not None else self.cut(text)
            offsets.append(len(tokens))
        return tokens, offsets

    def spans(self, texts: Sequence[str], cp: np.ndarray, offsets: np.ndarray) -> Spans:
        """The tokens of ``texts`` (laid end to end as the code points ``cp``, text ``i`` at
        ``cp[offsets[i]:offsets[i+1]]``) as spans: (per-text offsets into the tokens, starts,
        ends). The compiled backend cuts the code points; the others cut the strings."""
        spans = self._cutter.spans(cp, offsets)
        if spans is not None:
            return spans
        flat, per_text = self.cut_many(texts)
        # The tokens cover their texts exactly, so their ends are the running sum of lengths.
        ends = np.cumsum(np.fromiter(map(len, flat), dtype=np.int64, count=len(flat)))
        starts = ends - np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
        return np.asarray(per_text, dtype=np.int64), starts, ends

    def words(self, text: str) -> list[str]:
        """Feature tokens: no stop words, punctuation or blanks."""
        if not text:
            return []
        stop = self._stop
        raw = self._cutter.cut(text)  # already jieba-compatible
        # Fast path: isalnum() is true for CJK and plain Latin/digit words (most tokens).
        return [t for t in raw if t not in stop and (t.isalnum() or _WORDLIKE.search(t))]

    def keeps(self, token: str) -> bool:
        """True if ``words`` keeps this token (the same test, for one token)."""
        return token not in self._stop and bool(token.isalnum() or _WORDLIKE.search(token))


_lock = threading.Lock()
_default: Tokenizer | None = None


def configure(backend: Backend = DEFAULT_BACKEND, extra_words: Iterable[str] = (), *, use_stop_words: bool = True) -> Tokenizer:
    """Replace the process-wide tokenizer used by ``tokenize``; returns it."""
    global _default
    tokenizer = Tokenizer(backend, extra_words, use_stop_words=use_stop_words)
    with _lock:
        _default = tokenizer
    return tokenizer


def get_tokenizer() -> Tokenizer:
    """The process-wide tokenizer (the default backend, no user words, until ``configure`` is called)."""
    global _default
    with _lock:
        if _default is None:
            _default = Tokenizer()
        return _default


def tokenize(text: str) -> list[str]:
    """Feature words of ``text`` with the process-wide tokenizer (stop words removed)."""
    return get_tokenizer().words(text)
