"""What every source spider shares: the gate a response passes before parsing, and the errback.

Outcomes of a page that is not a normal page:
  blocked      403/401/429/451, a redirect to a login/captcha URL, or a captcha/login marker on a
               page whose expected content is missing -> the source is degraded, an ops alert goes
               out, the crawl of that source stops (``CloseSpider``); it never crashes.
  bad page     HTTP errors, binary or oversized content, missing fields -> quarantine with the reason.
  unreadable   the start page itself fails, or its selectors match nothing -> degraded + quarantine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import scrapy
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from huiyin.crawler import health
from huiyin.crawler.normalise import RawPost
from huiyin.crawler.pagecheck import is_binary, marker_block_reason, status_block_reason, url_block_reason
from huiyin.crawler.sink import PostSink
from huiyin.crawler.sources import Source


class SourceSpider(scrapy.Spider):
    """A spider driven by one ``Source`` entry; subclasses parse one kind of page."""

    name = "huiyin"

    def __init__(
        self,
        source: Source,
        sink: PostSink,
        clock: Callable[[], datetime],
        max_pages: int | None = None,
        max_body_bytes: int = 2_000_000,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=source.name, **kwargs)
        self.source = source
        self.sink = sink
        self.clock = clock
        self.max_pages = max_pages or source.max_pages
        self.max_body_bytes = max_body_bytes
        self.blocked_reason: str | None = None
        self.unreadable_reason: str | None = None

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.start_urls:
            yield self.make_request(url, self.parse_page, role="start", page=1)

    def make_request(self, url: str, callback: Callable[..., Any], *, role: str, page: int = 1, **meta: Any) -> Request:
        """A request whose failures come back to ``on_error`` with their role (start, list, detail)."""
        return Request(url, callback=callback, errback=self.on_error, meta={"role": role, "page": page, **meta})

    def parse_page(self, response: Response) -> Any:  # pragma: no cover - subclasses implement
        raise NotImplementedError

    # ------------------------------------------------------------------ the gate

    def gate(self, response: Response) -> bool:
        """True if ``response`` is a normal page to parse; otherwise it has been recorded."""
        role = response.meta.get("role", "detail")
        reason = status_block_reason(response.status) or url_block_reason(response.url)
        if reason:
            self.block(reason, response.url)
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        if response.status >= 400:
            self.bad_page(response.url, f"HTTP {response.status}", role, response.body[:2000])
            return False
        if not isinstance(response, TextResponse) or is_binary(response.body, content_type):
            self.bad_page(response.url, f"二进制内容 binary content ({content_type or 'no Content-Type'})", role, response.body)
            return False
        if len(response.body) > self.max_body_bytes:
            self.bad_page(response.url, f"页面过大 page too large: {len(response.body)} > {self.max_body_bytes} bytes", role, response.text[:4000])
            return False
        return True

    def missing(self, response: TextResponse, what: str) -> None:
        """The expected content is not on the page: blocked if it looks like a captcha/login page."""
        marker = marker_block_reason(response.text)
        if marker:
            self.block(marker, response.url)
        self.bad_page(response.url, what, response.meta.get("role", "detail"), response.text[:4000])

    def block(self, reason: str, url: str) -> None:
        """Record the block and stop crawling this source."""
        if self.blocked_reason is None:
            self.blocked_reason = reason
            self.sink.block(self.source.name, reason, url)
        raise CloseSpider("blocked")

    def bad_page(self, url: str, reason: str, role: str, payload: Any) -> None:
        """Quarantine a bad page; a bad start page also makes the source unreadable (degraded)."""
        self.sink.quarantine(source=self.source.name, reason=f"{_ROLE.get(role, role)}：{reason}", payload=payload, url=url)
        if role == "start" and self.unreadable_reason is None:
            self.unreadable_reason = f"起始页无法使用 start page unusable: {reason}"
            self.sink.flush()
            health.mark_degraded(self.sink.db, self.sink.bus, self.sink.settings, self.source.name,
                                 self.unreadable_reason, url=url, at=self.clock())

    # ------------------------------------------------------------------ failures

    def on_error(self, failure: Failure) -> None:
        """Download failures after retries: robots, size limits, network errors."""
        request: Request = failure.request  # type: ignore[attr-defined]
        role = request.meta.get("role", "detail")
        exc = failure.value
        if isinstance(exc, IgnoreRequest) and "robots" in str(exc).lower():
            self.sink.counts["robots_forbidden"] += 1
            if role == "start":
                self.bad_page(request.url, "robots.txt 不允许抓取 disallowed by robots.txt", role, None)
            return
        name = type(exc).__name__
        if name == "DownloadCancelledError":
            reason = f"页面过大 page larger than {self.max_body_bytes} bytes"
        else:
            reason = f"下载失败 download failed: {name}: {str(exc)[:300]}"
        self.bad_page(request.url, reason, role, None)

    # ------------------------------------------------------------------ helpers

    def raw(self, **fields: Any) -> RawPost:
        """A ``RawPost`` of this source (channel and jurisdiction filled in)."""
        return RawPost(source=self.source.name, channel=self.source.channel, source_region=self.source.jurisdiction, **fields)

    def more_pages(self, page: int) -> bool:
        return page < self.max_pages


_ROLE = {"start": "起始页", "list": "列表页", "detail": "详情页", "api": "接口页", "feed": "订阅源"}
