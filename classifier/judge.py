"""The whole judgement of a post (研判): field, place, severity, signals and routing → ``Routing``.

``Judge.from_settings(settings, org)`` builds every part once (gazetteer automaton, compiled
patterns, the field and sentiment models); ``judge_many`` then runs a batch with one vectorised
model call per batch. The judgement is deterministic and has no side effects.

With ``threads`` > 1 a batch is cut into parts whose preparation (normalising, cutting, the one
compiled pass that scores both models) runs on this thread and a pool of ``threads - 1``: those
loops release the GIL, so the parts are scored on every core while this thread finishes the
parts already scored (place, severity, routing, which need the GIL). The decisions are the
same, in the same order.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings
from huiyin.classifier.batch import TextBatch
from huiyin.classifier.field_refine import FieldRefiner
from huiyin.classifier.keywords import scanning
from huiyin.classifier.gazetteer import Gazetteer, GazetteerConfig, load_outside
from huiyin.classifier.model_adapters import FieldPredictor, joint_scoring, load_field_predictor, load_sentiment_predictor
from huiyin.classifier.place import Locator
from huiyin.classifier.router import FieldDecision, Router, RoutingConfig
from huiyin.classifier.severity import SeverityConfig, SeverityGrader
from huiyin.classifier.text import without_surrogates
from huiyin.classifier.signals import SentimentPredictor, SignalConfig, SignalReader
from huiyin.responder.bus.messages import PostRecord, Routing

log = logging.getLogger(__name__)

# Longer texts are judged on their beginning: it bounds the latency of one post, and what
# decides field, place and severity is said early (titles, first paragraphs).
MAX_CHARS = 20_000
# A part handed to a thread has at least this many posts: below it the hand-over costs more than
# the second core gives.
MIN_PART = 64


@dataclass(frozen=True)
class PostInput:
    """What the judgement reads from a post."""

    text: str
    title: str | None = None
    source_region: str | None = None
    likes: int = 0
    dislikes: int = 0
    comments: int = 0
    reposts: int = 0

    @classmethod
    def of(cls, post: PostRecord | Mapping[str, Any] | PostInput) -> PostInput:
        if isinstance(post, PostInput):
            return post
        # ``type(...) is dict`` first: the ABC check of ``isinstance(..., Mapping)`` is slow.
        get = post.get if type(post) is dict or isinstance(post, Mapping) else (lambda k, d=None: getattr(post, k, d))
        return cls(
            text=without_surrogates(str(get("text") or "")),
            title=(without_surrogates(str(get("title"))) if get("title") else None),
            source_region=(str(get("source_region")) if get("source_region") else None),
            **{k: _count(get(k, 0)) for k in ("likes", "dislikes", "comments", "reposts")},
        )

    def full_text(self) -> str:
        """Title and body, the title left out when the body already starts with it."""
        text = self.text.strip()
        title = (self.title or "").strip()
        if title and not text.startswith(title):
            text = f"{title}\n{text}" if text else title
        return text


def usable_threads(configured: int) -> int:
    """Threads for the judgement: ``configured``, or with 0 the cores this process may use."""
    if configured > 0:
        return configured
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform
        return os.cpu_count() or 1


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


class Judge:
    """Field + place + severity + signals + routing for posts."""

    def __init__(
        self,
        org: OrgDirectory,
        locator: Locator,
        grader: SeverityGrader,
        signals: SignalReader,
        router: Router,
        fields: FieldPredictor | None,
        threads: int = 1,
    ) -> None:
        self.org = org
        self.locator = locator
        self.grader = grader
        self.signals = signals
        self.router = router
        self.fields = fields
        self.refiner = FieldRefiner(org)
        # Both models read the same batch: one pass over its texts serves the two.
        self.score_batch = joint_scoring(fields, signals.sentiment_model)
        self.threads = max(1, threads)
        self._pool: ThreadPoolExecutor | None = None
        # A forked child has none of its parent's threads: it makes its own pool (as for a new size).
        self._pool_key = (0, 0)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        org: OrgDirectory,
        *,
        fields: FieldPredictor | None | str = "default",
        sentiment: SentimentPredictor | None | str = "default",
    ) -> Judge:
        """Build every part from the configuration; ``"default"`` loads the package's models."""
        gazetteer = Gazetteer(
            org,
            load_outside(settings.config_file("places_outside.yaml")),
            GazetteerConfig.load(settings.config_file("places.yaml")),
        )
        locator = Locator(org, gazetteer, settings.home_jurisdiction)
        grader = SeverityGrader(SeverityConfig.load(settings.config_file("severity.yaml")))
        if sentiment == "default":
            sentiment = load_sentiment_predictor(settings)
        reader = SignalReader(SignalConfig.load(settings.config_file("signals.yaml")), sentiment)  # type: ignore[arg-type]
        router = Router(org, locator, RoutingConfig.load(settings.config_file("routing.yaml")), settings.home_jurisdiction)
        if fields == "default":
            fields = load_field_predictor(settings, org)
        judge = cls(org, locator, grader, reader, router, fields, threads=usable_threads(settings.classifier.threads))  # type: ignore[arg-type]
        judge.warm()
        return judge

    def warm(self) -> None:
        """Judge a sample post, so that the compiled loops are loaded (or compiled, on a first
        run) and the look-up tables built before the first real post rather than during it."""
        self.judge_many([PostInput(title="停水", text="石家庄市长安区某小区停水三天，网传有人受伤。Wi-Fi 2019-12-30")])

    def judge(self, post: PostRecord | Mapping[str, Any] | PostInput) -> Routing:
        """The routing decision for one post."""
        return self.judge_many([post])[0]

    def judge_many(self, posts: Sequence[PostRecord | Mapping[str, Any] | PostInput]) -> list[Routing]:
        """Routing decisions for a batch; one model call per batch (per part, with threads)."""
        inputs = [PostInput.of(p) for p in posts]
        parts = self._parts(len(inputs))
        if len(parts) == 1:
            return self._finish(inputs, *self._prepare(inputs))
        if self._pool is None or self._pool_key != (os.getpid(), self.threads):
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="huiyin-judge")
            self._pool_key = (os.getpid(), self.threads)
        # This thread prepares the first part itself while the pool prepares the others.
        later = [self._pool.submit(self._prepare, inputs[a:b]) for a, b in parts[1:]]
        a, b = parts[0]
        routings = self._finish(inputs[a:b], *self._prepare(inputs[a:b]))
        for (a, b), future in zip(parts[1:], later):
            routings += self._finish(inputs[a:b], *future.result())
        return routings

    def _parts(self, n: int) -> list[tuple[int, int]]:
        """Bounds of the parts of a batch of ``n``: one per thread and one more, so that
        finishing a part overlaps the scoring of the next (measured best with two cores); one
        part when small."""
        count = min(self.threads + 1, n // MIN_PART) if self.threads > 1 else 1
        if count <= 1:
            return [(0, n)]
        bounds = [n * k // count for k in range(count + 1)]
        return list(zip(bounds, bounds[1:]))

    def _prepare(self, inputs: list[PostInput]) -> tuple[list[str], list[int], TextBatch]:
        """Texts, the rows with text, and their batch, scored by both models (in a pool thread)."""
        texts = [p.full_text()[:MAX_CHARS] for p in inputs]
        rows = [i for i, t in enumerate(texts) if t]
        # One preparation (normalised, cut, hashed) serves both models.
        batch = TextBatch.of([(inputs[i].title, inputs[i].text[:MAX_CHARS]) for i in rows])
        if self.score_batch is not None:
            self.score_batch(batch)
        return texts, rows, batch

    def _finish(self, inputs: list[PostInput], texts: list[str], rows: list[int], batch: TextBatch) -> list[Routing]:
        # Every word table (keywords, places, departments) matches the whole batch in one call.
        with scanning(texts):
            decisions = self._fields(batch, rows, texts)
            sentiments = self.signals.sentiment(batch, rows, len(texts))
            return [self._one(p, t, d, s) for p, t, d, s in zip(inputs, texts, decisions, sentiments)]

    def _fields(self, batch: TextBatch, rows: list[int], texts: list[str]) -> list[FieldDecision]:
        empty = FieldDecision(None, None, True, ("文本为空，无法判断领域",))
        if self.fields is None:
            return [FieldDecision(None, None, True, ("领域模型不可用",)) if t else empty for t in texts]
        predicted = self.fields(batch) if rows else []
        result = [empty] * len(texts)
        for i, decision in zip(rows, predicted):
            result[i] = self._refine(decision, texts[i])
        return result

    def _refine(self, decision: FieldDecision, text: str) -> FieldDecision:
        """Refine a coarse field by keywords; keep only other fields the text has words of."""
        hits = self.refiner.evidence(text)
        refined, why = self.refiner.refine(decision.field_id, text, hits, unsure=decision.needs_review)
        if not why and refined is not None:
            words = self.refiner.supported(refined, hits)
            if words:
                why.append(f"领域关键词：{'、'.join(f'「{w}」' for w in words[:5])}")
        others = []
        for fid, p in decision.others:
            if fid != refined and self.refiner.supported(fid, hits):
                others.append((fid, p))
        return FieldDecision(refined, decision.probability, decision.needs_review, (*decision.reasons, *why), tuple(others))

    def _one(self, post: PostInput, text: str, fd: FieldDecision, sentiment: dict) -> Routing:
        place = self.locator.locate(text, post.source_region)
        severity = self.grader.grade(text)
        signals = {
            "sentiment": sentiment,
            "rumour": self.signals.rumour(text),
            "heat": self.signals.heat(post.likes, post.dislikes, post.comments, post.reposts),
            "severity": severity.as_signal(),
        }
        extra: list[str] = []
        length = len(post.text) + len(post.title or "")
        if length > MAX_CHARS:
            extra.append(f"文本过长（约{length}字），仅分析前{MAX_CHARS}字")
        rumour = signals["rumour"]
        if rumour["flag"]:
            extra.append(f"传言信号「{'、'.join(rumour['words'])}」：如属不实信息需迅速澄清（001 §五(二)）")
        if sentiment.get("negative"):
            extra.append(f"负面情绪：{sentiment['evidence']}")
        return self.router.route(fd, place, severity, self.router.named_departments(text), signals, extra)
