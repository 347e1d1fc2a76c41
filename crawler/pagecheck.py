"""What a fetched page is before it is parsed: blocked, binary, too big, or in which encoding.

Blocking is the site telling us to stop (403/429, a captcha, a login wall); it marks the source
degraded. Binary or oversized content is a bad page; it goes to quarantine. Encodings: a charset
declared in the header, a BOM or a ``<meta>`` tag wins (Scrapy honours it, GBK/GB2312 read as
GB18030); an undeclared body is tried as UTF-8, then GB18030, instead of Scrapy's cp1252 guess.
"""

from __future__ import annotations

import codecs
import re
from urllib.parse import urlsplit

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

#: Typical markers of Chinese captcha pages and login walls.
BLOCK_MARKERS = (
    "验证码", "请登录", "安全验证", "访问过于频繁", "人机验证", "滑动验证", "请先登录", "登录后查看",
    "访问受限", "拒绝访问", "异常访问", "请求过于频繁", "操作频繁",
)
_BLOCK_URL = re.compile(r"(?:^|[/.?&=_-])(?:login|signin|passport|captcha|verify|sso|security-check)(?:$|[/.?&=_-])", re.I)
_BLOCK_STATUS = {401: "HTTP 401 需要登录", 403: "HTTP 403 禁止访问", 429: "HTTP 429 访问过于频繁", 451: "HTTP 451 因法律原因不可访问"}
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def status_block_reason(status: int) -> str | None:
    """The blocking reason an HTTP status alone gives, if any."""
    return _BLOCK_STATUS.get(status)


def url_block_reason(url: str) -> str | None:
    """A redirect to a login or captcha URL is a login wall."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _BLOCK_URL.search(f"{parts.path}?{parts.query}") or host.startswith(("passport.", "login.", "sso.")):
        return f"跳转到登录/验证页面 redirected to {url[:200]}"
    return None


def marker_block_reason(text: str) -> str | None:
    """A captcha/login marker in a page that did not have the expected content.

    Call this only when the page's structure is missing: a normal post may well mention 验证码.
    """
    head = text[:5000]
    title_match = _TITLE.search(head)
    title = title_match.group(1) if title_match else ""
    for marker in BLOCK_MARKERS:
        if marker in title or marker in head:
            return f"验证码/登录拦截：页面含“{marker}” captcha or login wall"
    return None


def is_binary(body: bytes, content_type: str | None) -> bool:
    """True for images, archives, office files and anything with NUL bytes in its head."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype and not (ctype.startswith("text/") or "json" in ctype or "xml" in ctype or "javascript" in ctype):
        return True
    return b"\x00" in body[:2048]


def declared_encoding(body: bytes, content_type: str | None) -> str | None:
    """The encoding the page declares (header, BOM, meta tag or XML declaration), if any."""
    return http_content_type_encoding(content_type) or read_bom(body)[0] or html_body_declared_encoding(body)


def fallback_encoding(body: bytes, content_type: str | None, forced: str | None = None) -> str | None:
    """The encoding to force on a response, or None to keep what Scrapy decided.

    ``forced`` (a source's ``encoding`` override) wins; a declared encoding is kept; otherwise the
    first of UTF-8 and GB18030 that decodes the body cleanly.
    """
    if forced:
        return forced
    if declared_encoding(body, content_type):
        return None
    for candidate in ("utf-8", "gb18030"):
        try:
            body.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate
    return "gb18030"  # best effort; undecodable bytes become U+FFFD rather than cp1252 mojibake


def known_encoding(name: str) -> bool:
    """True if Python can decode ``name``."""
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True
