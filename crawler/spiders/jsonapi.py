"""JSON APIs in the style of Weibo timelines and searches: JMESPath to items, fields and cursor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import jmespath
from scrapy.http import Response, TextResponse
from w3lib.url import add_or_replace_parameter

from huiyin.crawler.spiders.base import SourceSpider


@lru_cache(maxsize=256)
def _compiled(path: str) -> Any:
    return jmespath.compile(path)


def search(path: str, data: Any) -> Any:
    """JMESPath search (compiled once)."""
    return _compiled(path).search(data)


class JsonApiSpider(SourceSpider):
    """Pages of a JSON API; the next page comes from a cursor in the response or a page number."""

    async def start(self) -> Any:  # type: ignore[override]
        for url in self.source.start_urls:
            request = self.make_request(url, self.parse_page, role="start", page=1)
            request.headers.setdefault(b"Accept", b"application/json, text/plain, */*")
            yield request

    def parse_page(self, response: Response) -> Iterator[Any]:
        if not self.gate(response):
            return
        assert isinstance(response, TextResponse) and self.source.json_api is not None
        api = self.source.json_api
        page = response.meta.get("page", 1)
        try:
            data = json.loads(response.text)
        except ValueError as exc:
            self.missing(response, f"JSON 无法解析 invalid JSON: {exc}")
            return
        items = search(api.items, data)
        if not isinstance(items, list):
            self.missing(response, f"JSON 中找不到条目列表 items path {api.items!r} matched nothing")
            return
        for item in items:
            yield from self._item(item, response)
        if not items or not self.more_pages(page):
            return
        next_url = None
        if api.cursor:
            cursor = search(api.cursor, data)
            if cursor not in (None, "", 0, "0", False):
                next_url = add_or_replace_parameter(response.url, api.cursor_param, str(cursor))
        elif api.page_param:
            next_url = add_or_replace_parameter(response.url, api.page_param, str(page + 1))
        if next_url and next_url != response.url:
            yield self.make_request(next_url, self.parse_page, role="api", page=page + 1)

    def _item(self, item: Any, response: TextResponse) -> Iterator[Any]:
        assert self.source.json_api is not None
        fields = self.source.json_api.fields
        values = {k: search(p, item) for k, p in fields.items() if k != "url" or "{" not in p}
        if values.get("id") in (None, "") or not values.get("body"):
            self.sink.quarantine(source=self.source.name, reason="接口条目缺少 id 或正文 API item without id or body",
                                 payload=item, url=response.url)
            return
        url = values.get("url")
        if "url" in fields and "{" in fields["url"]:
            url = fields["url"].replace("{id}", str(values["id"]))
        yield self.raw(
            external_id=str(values["id"]),
            url=response.urljoin(url) if isinstance(url, str) else None,
            title=_text(values.get("title")),
            body=_text(values.get("body")),
            author=_text(values.get("author")),
            time=values.get("time"),
            replies=values.get("replies"),
            likes=values.get("likes"),
            dislikes=values.get("dislikes"),
            reposts=values.get("reposts"),
            reply=_text(values.get("reply")),
            reply_time=values.get("reply_time"),
        )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
