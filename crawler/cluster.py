"""Reposts and near-copies grouped into clusters with MinHash LSH over character shingles.

One matter reposted 300 times becomes one ``cluster_id`` (the first post's id) with a size, so the
responder opens one incident, not 300. Signatures are stored in ``near_dup_signatures`` and the
index is rebuilt from them at start (posts of the last ``window`` only), so cluster ids survive
restarts. LSH candidates are verified against the estimated Jaccard similarity before joining.
``refresh`` picks up rows other processes wrote since the load (two crawls running at once).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH
from sqlalchemy import select

from huiyin.responder.store import Database
from huiyin.responder.store.tables import NearDupSignature

NUM_PERM = 128
SEED = 1
SHINGLE = 3
MIN_CHARS = 12  # shorter texts ("顶", "同问") say too little to be grouped
_NOISE = re.compile(r"https?://\S+|//@[^:：\s]{1,30}[:：]|转发微博|[\W_]+", re.UNICODE)


def normalise_for_shingles(text: str) -> str:
    """Lower-case text without punctuation, spaces, links and repost markers."""
    return _NOISE.sub("", text).lower()


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    """Character k-grams of the normalised text (empty if it is too short to compare)."""
    norm = normalise_for_shingles(text)
    if len(norm) < MIN_CHARS:
        return set()
    return {norm[i : i + k] for i in range(len(norm) - k + 1)}


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    # Generating the permutations costs ~1 ms; they depend only on the seed, so make them once.
    return MinHash(num_perm=NUM_PERM, seed=SEED).permutations


@lru_cache(maxsize=8)
def lsh_params(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """Bands and rows minimising false positives + false negatives (equal weights), as datasketch
    does, but on a grid with numpy: datasketch's scipy integration takes seconds per process."""
    s = np.linspace(0.0, 1.0, 2001)
    ds = s[1] - s[0]
    below, above = s <= threshold, s >= threshold
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p = 1.0 - (1.0 - s**r) ** b
            err = (p[below].sum() + (1.0 - p[above]).sum()) * ds  # false positives + false negatives
            if err < best_err:
                best, best_err = (b, r), err
    return best


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature (128 x uint32) of ``text``, or None if it is too short."""
    grams = shingles(text)
    if not grams:
        return None
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_permutations())
    mh.update_batch([g.encode("utf-8") for g in grams])
    return mh.hashvalues.astype(np.uint32)


@dataclass
class Assignment:
    """Where a post landed: its cluster (None if too short to compare) and the cluster's size."""

    cluster_id: str | None
    size: int
    signature: np.ndarray | None = None


class NearDuplicates:
    """The LSH index of recent posts and their clusters."""

    def __init__(
        self,
        db: Database,
        *,
        threshold: float = 0.6,
        window: timedelta = timedelta(days=30),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.threshold = threshold
        self.window = window
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, params=lsh_params(threshold))
        self._sigs: dict[str, np.ndarray] = {}
        self._cluster: dict[str, str] = {}
        self.sizes: Counter[str] = Counter()
        self._last_seq = 0

    def load(self) -> int:
        """Rebuild the index from the stored signatures of the window; returns how many."""
        return self._read(since_seq=0, since=self.clock() - self.window)

    def refresh(self) -> int:
        """Add signatures other processes stored since the last read."""
        return self._read(since_seq=self._last_seq, since=None)

    def _read(self, *, since_seq: int, since: datetime | None) -> int:
        query = select(NearDupSignature.seq, NearDupSignature.post_id, NearDupSignature.cluster_id, NearDupSignature.signature)
        query = query.where(NearDupSignature.seq > since_seq).order_by(NearDupSignature.seq)
        if since is not None:
            query = query.where(NearDupSignature.created_at >= since)
        n = 0
        with self.db.session() as session:
            for seq, post_id, cluster_id, raw in session.execute(query):
                self._last_seq = max(self._last_seq, seq)
                if post_id in self._sigs:
                    continue
                self._add(post_id, cluster_id, np.frombuffer(raw, dtype=np.uint32))
                n += 1
        if since is not None:  # a fresh load: remember the newest row even outside the window
            with self.db.session() as session:
                newest = session.scalar(select(NearDupSignature.seq).order_by(NearDupSignature.seq.desc()).limit(1))
            self._last_seq = max(self._last_seq, newest or 0)
        return n

    def _add(self, post_id: str, cluster_id: str, sig: np.ndarray) -> None:
        self._lsh.insert(post_id, LeanMinHash(seed=SEED, hashvalues=sig.astype(np.uint64)), check_duplication=False)
        self._sigs[post_id] = sig
        self._cluster[post_id] = cluster_id
        self.sizes[cluster_id] += 1

    def cluster_of(self, post_id: str) -> str | None:
        """The cluster a known post belongs to (None if unknown or too short)."""
        if post_id in self._cluster:
            return self._cluster[post_id]
        with self.db.session() as session:
            return session.scalar(select(NearDupSignature.cluster_id).where(NearDupSignature.post_id == post_id))

    def assign(self, post_id: str, text: str) -> Assignment:
        """Put a new post into the cluster of its most similar known post, or a new one of its own."""
        if post_id in self._cluster:
            cluster_id = self._cluster[post_id]
            return Assignment(cluster_id, self.sizes[cluster_id])
        sig = signature(text)
        if sig is None:
            return Assignment(None, 1)
        candidates = self._lsh.query(LeanMinHash(seed=SEED, hashvalues=sig.astype(np.uint64)))
        best, best_sim = None, self.threshold
        for other in candidates:
            sim = float(np.mean(self._sigs[other] == sig))
            if sim >= best_sim:
                best, best_sim = other, sim
        cluster_id = self._cluster[best] if best is not None else post_id
        self._add(post_id, cluster_id, sig)
        return Assignment(cluster_id, self.sizes[cluster_id], sig)
