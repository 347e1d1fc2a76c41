"""Generic spiders, one per kind of source, each driven by its ``Source`` entry."""

from __future__ import annotations

from huiyin.crawler.spiders.base import SourceSpider
from huiyin.crawler.spiders.html import HtmlSpider
from huiyin.crawler.spiders.jsonapi import JsonApiSpider
from huiyin.crawler.spiders.rss import RssSpider

SPIDERS: dict[str, type[SourceSpider]] = {"html": HtmlSpider, "rss": RssSpider, "json_api": JsonApiSpider}

__all__ = ["SPIDERS", "HtmlSpider", "JsonApiSpider", "RssSpider", "SourceSpider"]
