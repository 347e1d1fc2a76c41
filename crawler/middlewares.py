"""Downloader middlewares: retries that back off, and encodings Scrapy would guess wrong."""

from __future__ import annotations

import random

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.asyncio import sleep

from huiyin.crawler.pagecheck import fallback_encoding


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries (same codes and exceptions), each after an exponential, jittered pause.

    The pause honours ``Retry-After`` (seconds) up to ``RETRY_BACKOFF_MAX``; Scrapy's own
    middleware retries at once, which is rude to a server that just said 429 or 503.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.base = crawler.settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.cap = crawler.settings.getfloat("RETRY_BACKOFF_MAX", 60.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await sleep(self._delay(result, response))
        return result

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await sleep(self._delay(result, None))
        return result

    def _delay(self, retry: Request, response: Response | None) -> float:
        attempt = int(retry.meta.get("retry_times", 1))
        delay = self.base * 2 ** (attempt - 1) * (0.75 + random.random() / 2)  # noqa: S311 (jitter, not crypto)
        if response is not None:
            after = response.headers.get(b"Retry-After", b"").decode("latin-1").strip()
            if after.isdigit():
                delay = max(delay, float(after))
        return min(delay, self.cap)


class EncodingMiddleware:
    """Force the source's ``encoding`` override, or UTF-8/GB18030 when the page declares none."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EncodingMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, TextResponse):
            return response
        source = getattr(self.crawler.spider, "source", None)
        forced = source.encoding if source is not None else None
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        encoding = fallback_encoding(response.body, content_type, forced)
        if encoding and encoding != response.encoding:
            return response.replace(encoding=encoding)
        return response
