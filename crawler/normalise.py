"""From what a page or a file row says (``RawPost``) to the ``PostRecord`` the pipeline carries.

Text comes out of HTML, dates are read in Asia/Shanghai relative to the crawl's clock, counts such
as "1.2万" become numbers, URLs are canonical. A row that cannot become a post raises ``Rejected``
with a reason for the quarantine.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from typing import Any

from huiyin.crawler.dates import SHANGHAI, parse_time
from huiyin.crawler.text import canonical_url, content_hash, html_to_text, parse_count
from huiyin.responder.bus.messages import PostRecord

MAX_ID = 128  # posts.id column
MAX_TEXT_CHARS = 100_000


class Rejected(Exception):
    """A row or page that cannot become a post; ``reason`` is shown to the operator."""

    def __init__(self, reason: str, payload: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.payload = payload


@dataclass
class RawPost:
    """A post as found: strings straight from the page (HTML allowed in title/body/reply)."""

    source: str
    external_id: str | None
    url: str | None = None
    title: str | None = None
    body: str | None = None
    author: str | None = None
    time: Any = None
    replies: Any = None
    likes: Any = None
    dislikes: Any = None
    reposts: Any = None
    reply: str | None = None
    reply_time: Any = None
    channel: str | None = None
    source_region: str | None = None

    def as_payload(self) -> dict[str, Any]:
        """For the quarantine record: every field, long bodies cut."""
        data = asdict(self)
        if isinstance(data.get("body"), str) and len(data["body"]) > 4000:
            data["body"] = data["body"][:4000] + f"…（共 {len(self.body or '')} 字符）"
        return data


def post_id(source: str, external_id: str) -> str:
    """``<source>:<external_id>``, hashed when it would not fit the id column."""
    candidate = f"{source}:{external_id}"
    if len(candidate) <= MAX_ID:
        return candidate
    return f"{source}:h{hashlib.sha1(external_id.encode('utf-8')).hexdigest()}"


def state_hash(record: PostRecord) -> str:
    """What a revisit compares: counts and the official reply. A change is an update."""
    reply_at = record.reply_at.isoformat() if record.reply_at else None
    return content_hash(record.likes, record.dislikes, record.reposts, record.comments, record.reply_text, reply_at)


def text_hash(record: PostRecord) -> str:
    return content_hash(record.title, record.text)


def normalise(raw: RawPost, *, now: datetime, tz: tzinfo = SHANGHAI, max_text_chars: int = MAX_TEXT_CHARS) -> PostRecord:
    """Clean one raw post; raises ``Rejected`` naming what is missing or wrong."""
    external_id = (str(raw.external_id).strip() if raw.external_id is not None else "")[:255]
    if not external_id:
        raise Rejected("缺少编号 missing id", raw.as_payload())
    text = html_to_text(raw.body)
    if not text:
        raise Rejected("缺少正文 missing body", raw.as_payload())
    if len(text) > max_text_chars:
        raise Rejected(f"正文过长 body too long: {len(text)} > {max_text_chars} characters", raw.as_payload())
    title = " ".join(html_to_text(raw.title).split()) or None
    extra: dict[str, Any] = {}
    published = parse_time(raw.time, now, tz)
    if raw.time not in (None, "") and published is None:
        extra["published_raw"] = str(raw.time)[:100]  # kept for the operator, never guessed
    reply = html_to_text(raw.reply) or None
    reply_at = parse_time(raw.reply_time, now, tz) if reply else None
    record = PostRecord(
        id=post_id(raw.source, external_id),
        source=raw.source,
        external_id=external_id,
        text=text,
        title=title[:500] if title else None,
        url=canonical_url(raw.url) if raw.url else None,
        channel=raw.channel,
        author=(" ".join(html_to_text(raw.author).split()) or None) if raw.author else None,
        published_at=published,
        fetched_at=now,
        source_region=raw.source_region,
        likes=parse_count(raw.likes),
        dislikes=parse_count(raw.dislikes),
        reposts=parse_count(raw.reposts),
        comments=parse_count(raw.replies),
        reply_text=reply,
        reply_at=reply_at,
        **extra,
    )
    record.content_hash = text_hash(record)
    return record
