"""RSS 2.0 and Atom feeds: no selectors needed, namespaces ignored (local names only)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from parsel import Selector
from scrapy.http import Response, TextResponse

from huiyin.crawler.spiders.base import SourceSpider


def _first(entry: Selector, *names: str) -> str | None:
    """The first non-empty text of the first present child element among ``names``."""
    for name in names:
        for value in entry.xpath(f"./*[local-name()='{name}']//text()").getall():
            if value.strip():
                return value.strip()
    return None


def _joined(entry: Selector, *names: str) -> str | None:
    """All text of the first present element (CDATA HTML comes back as markup to clean later)."""
    for name in names:
        parts = entry.xpath(f"./*[local-name()='{name}']//text()").getall()
        text = "".join(parts).strip()
        if text:
            return text
    return None


class RssSpider(SourceSpider):
    """Each ``<item>``/``<entry>`` is a post; the feed itself is the only page."""

    def parse_page(self, response: Response) -> Iterator[Any]:
        if not self.gate(response):
            return
        assert isinstance(response, TextResponse)
        feed = Selector(text=response.text, type="xml")
        entries = feed.xpath("//*[local-name()='item' or local-name()='entry']")
        if not entries:
            self.missing(response, "订阅源没有条目（不是 RSS/Atom？） feed has no items")
            return
        for entry in entries:
            title = _first(entry, "title")
            link = self._link(entry)
            body = _joined(entry, "encoded", "content", "description", "summary") or title
            guid = _first(entry, "guid", "id")
            yield self.raw(
                external_id=guid or link or (hashlib.sha1((title or "").encode()).hexdigest()[:24] if title else None),
                url=response.urljoin(link) if link else None,
                title=title,
                body=body,
                author=_first(entry, "creator", "author"),
                time=_first(entry, "pubDate", "published", "updated", "date"),
                replies=_first(entry, "comments") if _is_count(_first(entry, "comments")) else None,
            )

    @staticmethod
    def _link(entry: Selector) -> str | None:
        # Atom: <link rel="alternate" href="…"/> (or no rel); RSS: <link>…</link>
        for href in entry.xpath("./*[local-name()='link'][not(@rel) or @rel='alternate']/@href").getall():
            if href.strip():
                return href.strip()
        return _first(entry, "link")


def _is_count(value: str | None) -> bool:
    return bool(value) and value.replace(",", "").isdigit()  # type: ignore[union-attr]
