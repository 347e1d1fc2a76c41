"""A batch of posts prepared once for every model that reads it.

The field and the sentiment model read the same posts with the same tokenizer and the same
texts. ``TextBatch`` normalises each post once, cuts it once per tokenizer and lays the texts
of each feature block out once as code points, lazily, and keeps the results; each model then
only looks its own vocabulary up (``FeatureTables.rows``, a compiled loop over these arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from huiyin.classifier.kernels import codepoints
from huiyin.classifier.text import title_and_body
from huiyin.classifier.tokenize import Tokenizer

Post = tuple[str | None, str | None]

# Big inputs (a training set) are featurised in chunks of this many posts: it bounds the
# temporary arrays, which hold every n-gram of a chunk.
CHUNK = 8192


@dataclass(frozen=True)
class Tokens:
    """The tokens of a batch as spans of its code points: post ``i`` has the tokens
    ``post[i]:post[i+1]``; token ``j`` is ``cp[start[j]:end[j]]``."""

    post: np.ndarray  # int64 (n_posts + 1)
    cp: np.ndarray  # uint32
    start: np.ndarray  # int64 (n_tokens,)
    end: np.ndarray  # int64 (n_tokens,)


class TextBatch:
    """Posts as (title, body) pairs, normalised and prepared lazily and only once.

    ``TextBatch.of(posts)`` takes raw pairs; ``TextBatch(pairs)`` pairs already passed through
    ``title_and_body``.
    """

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = list(pairs)
        self._tokens: dict[int, tuple[Tokenizer, Tokens]] = {}
        self._codepoints: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._kept: dict[int, tuple[object, object]] = {}

    @classmethod
    def of(cls, posts: Sequence[Post]) -> TextBatch:
        """A batch of raw (title, body) pairs: normalised and length-capped here."""
        return cls([title_and_body(t, b) for t, b in posts])

    def __len__(self) -> int:
        return len(self.pairs)

    @cached_property
    def joined(self) -> list[str]:
        """Title and body of each post as one text (what the word block reads)."""
        return [f"{t}。{b}" if t else b for t, b in self.pairs]

    def tokens(self, tokenizer: Tokenizer) -> Tokens:
        """Every token of every post (punctuation and stop words included), cut once."""
        cached = self._tokens.get(id(tokenizer))
        if cached is not None and cached[0] is tokenizer:
            return cached[1]
        cp, offsets = codepoints(self.joined)
        per_post, starts, ends = tokenizer.spans(self.joined, cp, offsets)
        tokens = Tokens(per_post, cp, starts, ends)
        self._tokens[id(tokenizer)] = (tokenizer, tokens)
        return tokens

    def keep(self, owner: object, result: object) -> None:
        """Keep ``owner``'s result for this batch (a model scored together with another)."""
        self._kept[id(owner)] = (owner, result)

    def kept(self, owner: object) -> object | None:
        """What ``keep`` kept for ``owner``, or None."""
        found = self._kept.get(id(owner))
        return found[1] if found is not None and found[0] is owner else None

    def codepoints(self, block: str) -> tuple[np.ndarray, np.ndarray]:
        """Code points and offsets of each post's text for ``block``: ``body`` reads title and
        body joined by a space (as training always did), ``title`` the title alone."""
        cached = self._codepoints.get(block)
        if cached is None:
            if block == "body":
                texts = [f"{t} {b}" if t else b for t, b in self.pairs]
            elif block == "title":
                texts = [t for t, _ in self.pairs]
            else:
                raise ValueError(f"unknown feature block {block!r}")
            cached = self._codepoints[block] = codepoints(texts)
        return cached
