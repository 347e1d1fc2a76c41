"""Scrapy item pipelines: ``RawPost`` -> clean ``PostRecord`` -> the sink (bus + crawl state).

Both take the spider's sink and clock (``crawler.spider``), so they work for every kind of source.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from huiyin.crawler.normalise import RawPost, Rejected, normalise
from huiyin.responder.bus.messages import PostRecord


class NormalisePipeline:
    """Clean text, dates, counts and URLs; a post that cannot be used is quarantined, not lost."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalisePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, RawPost):
            return item
        spider = self.crawler.spider
        try:
            return normalise(item, now=spider.clock())  # type: ignore[union-attr]
        except Rejected as rejected:
            spider.sink.quarantine(source=item.source, reason=rejected.reason, payload=rejected.payload, url=item.url)  # type: ignore[union-attr]
            raise DropItem(f"quarantined: {rejected.reason}") from None


class EmitPipeline:
    """Hand each post to the sink, which emits it once (or as an update) and keeps the state."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EmitPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, PostRecord):
            self.crawler.spider.sink.submit(item)  # type: ignore[union-attr]
        return item

    def close_spider(self) -> None:
        self.crawler.spider.sink.flush()  # type: ignore[union-attr]
