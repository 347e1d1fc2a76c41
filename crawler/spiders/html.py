"""HTML list -> detail pages (留言板, 问政 boards, news lists), driven by per-site selectors."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from parsel import Selector, SelectorList
from scrapy.http import Response, TextResponse

from huiyin.crawler.pagecheck import marker_block_reason
from huiyin.crawler.spiders.base import SourceSpider
from huiyin.crawler.text import canonical_url


def select(node: Selector | TextResponse, query: str) -> SelectorList[Any]:
    """Apply a CSS selector, or XPath when prefixed with ``xpath:``."""
    if query.startswith("xpath:"):
        return node.xpath(query[len("xpath:"):])
    return node.css(query)


def extract(node: Selector | TextResponse, query: str, field: str) -> str | None:
    """The field's value: all matches joined for ``body``/``reply`` (HTML kept), else the first non-empty."""
    values = [v for v in select(node, query).getall() if v and v.strip()]
    if not values:
        return None
    if field in ("body", "reply"):
        return "\n".join(values)
    return values[0].strip()


class HtmlSpider(SourceSpider):
    """List pages give links (and maybe fields); detail pages give the post."""

    def parse_page(self, response: Response) -> Iterator[Any]:
        if not self.gate(response):
            return
        assert isinstance(response, TextResponse) and self.source.html is not None
        spec = self.source.html
        page = response.meta.get("page", 1)
        nodes = select(response, spec.list.item)
        if not nodes:
            if page == 1:
                self.missing(response, "列表页没有匹配到条目（选择器可能已失效） list selector matched nothing")
            else:  # a later page may be empty, unless it is a captcha page
                self.missing_if_blocked(response)
            return
        for node in nodes:
            fields = {k: extract(node, q, k) for k, q in spec.list.fields.items()}
            if spec.list.link is None:
                yield from self._item(fields, response.url)
                continue
            href = extract(node, spec.list.link, "link")
            if not href:
                self.sink.quarantine(source=self.source.name, reason="列表条目缺少链接 list item without link",
                                     payload=node.get()[:4000], url=response.url)
                continue
            yield self.make_request(response.urljoin(href), self.parse_detail, role="detail", list_fields=fields)
        if spec.list.next_page and self.more_pages(page):
            href = extract(response, spec.list.next_page, "next_page")
            if href:
                yield self.make_request(response.urljoin(href), self.parse_page, role="list", page=page + 1)

    def parse_detail(self, response: Response) -> Iterator[Any]:
        if not self.gate(response):
            return
        assert isinstance(response, TextResponse) and self.source.html is not None
        fields = dict(response.meta.get("list_fields") or {})
        for key, query in self.source.html.detail.items():
            value = extract(response, query, key)
            if value is not None or key not in fields:
                fields[key] = value
        if not fields.get("body"):
            missing = [k for k in ("title", "body") if not fields.get(k)]
            self.missing(response, f"详情页缺少字段 missing fields: {', '.join(missing)}")
            return
        yield from self._item(fields, response.url)

    def missing_if_blocked(self, response: TextResponse) -> None:
        """A later list page without items ends the listing, unless it is a captcha page."""
        marker = marker_block_reason(response.text)
        if marker:
            self.block(marker, response.url)

    def _item(self, fields: dict[str, Any], page_url: str) -> Iterator[Any]:
        url = fields.get("url") or page_url
        yield self.raw(
            external_id=fields.get("id") or self._id_from_url(url, fields),
            url=url,
            title=fields.get("title"),
            body=fields.get("body"),
            author=fields.get("author"),
            time=fields.get("time"),
            replies=fields.get("replies"),
            likes=fields.get("likes"),
            dislikes=fields.get("dislikes"),
            reposts=fields.get("reposts"),
            reply=fields.get("reply"),
            reply_time=fields.get("reply_time"),
        )

    def _id_from_url(self, url: str, fields: dict[str, Any]) -> str:
        """The id the site gives the post: ``id_pattern`` on the URL, else a hash of the canonical URL."""
        assert self.source.html is not None
        pattern = self.source.html.id_pattern
        if pattern:
            m = re.search(pattern, url)
            if m:
                return m.group(1)
        basis = canonical_url(url) if self.source.html.list.link else f"{url}|{fields.get('title')}|{fields.get('time')}"
        return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:24]
