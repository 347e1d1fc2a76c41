"""Text out of HTML, engagement counts, canonical URLs and content hashes.

>>> html_to_text("<p>路灯<b>不亮</b></p><p>已三天</p><script>x()</script>")
'路灯不亮\\n已三天'
>>> parse_count("1.2万"), parse_count("3千+"), parse_count("评论")
(12000, 3000, 0)
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from lxml import html as lhtml
from w3lib.url import canonicalize_url, url_query_cleaner

_DROP = ("script", "style", "noscript", "template", "iframe", "svg", "head", "object", "embed", "select", "button")
_BLOCK = frozenset(
    "p div br li ul ol tr table h1 h2 h3 h4 h5 h6 section article blockquote pre dd dt dl header footer "
    "aside nav figure figcaption address hr form fieldset main".split()
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u3000\ufeff]+")
_COUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|w|W|千|k|K|亿|百)?")
_MULTIPLIER = {"万": 10_000, "w": 10_000, "W": 10_000, "千": 1_000, "k": 1_000, "K": 1_000, "亿": 100_000_000, "百": 100}
TRACKING_PARAMS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "spm", "from", "wfr", "isappinstalled",
    "share_token", "sharer_shareid", "scene", "clicktime", "enterid",
)


def normalise_space(text: str) -> str:
    """Collapse runs of spaces (full-width and non-breaking included) per line; drop empty lines."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def html_to_text(markup: str | None) -> str:
    """Readable text of an HTML fragment or page: scripts and styles dropped, blocks on their own lines."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return normalise_space(markup)
    try:
        root = lhtml.fromstring(markup)
    except (etree.ParserError, ValueError):
        return normalise_space(re.sub(r"<[^>]*>", " ", markup))
    etree.strip_elements(root, *_DROP, with_tail=False)
    etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
    for el in root.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _BLOCK:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
        elif tag == "img" and el.get("alt"):
            el.tail = el.get("alt", "") + (el.tail or "")  # emoticons such as [哭] carry meaning
    return normalise_space("".join(root.itertext()))


def parse_count(value: Any) -> int:
    """An engagement count as sites print it: 12, "1,234", "1.2万", "3千+", "10w+", "评论" (none) -> int."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return max(0, int(value))
    text = str(value).replace(",", "").replace("，", "")
    m = _COUNT.search(text)
    if not m:
        return 0
    return int(round(float(m.group(1)) * _MULTIPLIER.get(m.group(2) or "", 1)))


def canonical_url(url: str, base: str | None = None) -> str:
    """Absolute, canonical form of ``url``: sorted query, no fragment, no tracking parameters."""
    absolute = urljoin(base, url.strip()) if base else url.strip()
    cleaned = url_query_cleaner(absolute, TRACKING_PARAMS, remove=True, unique=False, keep_fragments=False)
    return canonicalize_url(cleaned)


def content_hash(*parts: str | int | None) -> str:
    """A stable SHA-256 over the parts (None and "" are distinct from each other only by position)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(("" if part is None else str(part)).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()
