"""The demo corpus (``corpus.yaml``): posts anchored to the demo clock, with pages that change.

Times are anchored once, when the site starts (``epoch - age``), and then rendered relative to the
running clock, so "3小时前" becomes "4小时前" an hour later, as on a real board.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

CORPUS_FILE = Path(__file__).resolve().parent / "corpus.yaml"
SITES = ("zhengding", "shijiazhuang", "news", "weibo", "shuangqiao")
_AGE = re.compile(r"(\d+)\s*(d|h|m|s)")
_AGE_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


@dataclass(frozen=True)
class Reply:
    """An official reply under a post."""

    unit: str
    at: datetime
    text: str


@dataclass(frozen=True)
class DemoPost:
    """One post as the demo site shows it."""

    id: int
    site: str
    title: str | None
    body: str
    author: str
    at: datetime
    likes: Any = 0
    dislikes: Any = 0
    replies: Any = 0
    reposts: Any = 0
    comments: Any = 0
    reply: Reply | None = None
    private: bool = False
    changes: dict[str, Any] | None = None

    def seen(self, visits: int, changed_at: datetime) -> DemoPost:
        """The post on its ``visits``-th visit: ``changes`` apply from the second visit on, a new
        reply dated ``changed_at`` (when the change was first shown) minus its age."""
        if visits < 2 or not self.changes:
            return self
        update = {k: v for k, v in self.changes.items() if k != "reply"}
        if "reply" in self.changes:
            update["reply"] = _reply(self.changes["reply"], changed_at)
        return replace(self, **update)


def parse_age(text: str | int) -> timedelta:
    """"1d2h", "40m", "20s" -> timedelta."""
    if isinstance(text, int):
        return timedelta(seconds=text)
    parts = _AGE.findall(str(text))
    if not parts:
        raise ValueError(f"bad age {text!r}")
    return sum((timedelta(**{_AGE_UNITS[u]: int(n)}) for n, u in parts), timedelta())


def _reply(data: dict[str, Any], epoch: datetime) -> Reply:
    return Reply(unit=str(data["unit"]), at=epoch - parse_age(data.get("age", "0s")), text=str(data["text"]).strip())


def load_corpus(epoch: datetime, path: Path = CORPUS_FILE) -> list[DemoPost]:
    """Every demo post, anchored at ``epoch`` (the demo clock when the site started)."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["posts"]
    by_id = {int(e["id"]): e for e in entries}
    posts: list[DemoPost] = []
    for entry in entries:
        body = str(entry.get("body", "")).strip()
        if "copy_of" in entry:
            original = by_id[int(entry["copy_of"])]
            body = f"{entry.get('prefix', '')}{str(original['body']).strip()}{entry.get('suffix', '')}"
        if entry["site"] not in SITES:
            raise ValueError(f"demo post {entry['id']}: unknown site {entry['site']!r}")
        changes = dict(entry["changes"]) if entry.get("changes") else None
        posts.append(
            DemoPost(
                id=int(entry["id"]),
                site=entry["site"],
                title=entry.get("title"),
                body=body,
                author=str(entry.get("author", "网友")),
                at=epoch - parse_age(entry["age"]),
                likes=entry.get("likes", 0),
                dislikes=entry.get("dislikes", 0),
                replies=entry.get("replies", 1 if entry.get("reply") else 0),
                reposts=entry.get("reposts", 0),
                comments=entry.get("comments", 0),
                reply=_reply(entry["reply"], epoch) if entry.get("reply") else None,
                private=bool(entry.get("private", False)),
                changes=changes,
            )
        )
    return posts
