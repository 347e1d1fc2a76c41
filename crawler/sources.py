"""Sources as configuration: ``sources.yaml`` read, validated and expanded.

Adding a site of a known kind (rss, html, json_api) means adding an entry, never code. Every error
names the source and the key, e.g. ``sources[zhengding-liuyan].html.detail.body``. The file format
is documented in the shipped ``config/sources.yaml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import jmespath
import yaml
from parsel import Selector
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from huiyin.config.errors import ConfigError
from huiyin.config.settings import Settings
from huiyin.crawler.pagecheck import known_encoding

Kind = Literal["rss", "html", "json_api"]
Channel = Literal["留言板", "问政", "news", "政务微博", "RSS", "hotline"]
#: Fields a page or an API item may provide; ``replies`` is the number of comments/replies.
POST_FIELDS = ("id", "title", "body", "author", "time", "replies", "likes", "dislikes", "reposts", "reply", "reply_time", "url")
DEMO_PLACEHOLDER = "{demo}"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$")
_SECONDS = {"s": 1, None: 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_selector(query: str) -> str:
    """Compile a CSS (default) or ``xpath:`` selector against an empty page so typos fail at load."""
    probe = Selector(text="<html><body></body></html>")
    try:
        if query.startswith("xpath:"):
            probe.xpath(query[len("xpath:"):])
        else:
            probe.css(query)
    except Exception as exc:  # parsel raises several types (SelectorSyntaxError, ValueError, XPathError)
        raise ValueError(f"invalid selector {query!r}: {exc}") from None
    return query


def _check_fields(fields: dict[str, str], check: Any) -> dict[str, str]:
    for key, query in fields.items():
        if key not in POST_FIELDS:
            raise ValueError(f"unknown field {key!r}; known: {', '.join(POST_FIELDS)}")
        check(query)
    return fields


def _check_path(path: str) -> str:
    if "{" in path:  # a URL template such as "https://m.weibo.cn/status/{id}"
        return path
    try:
        jmespath.compile(path)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValueError(f"invalid JMESPath {path!r}: {exc}") from None
    return path


class HtmlList(_Model):
    """The list (index) page: one element per post, its detail link and the next page."""

    item: str
    link: str | None = None  # None: everything is on the list page (use ``fields``)
    next_page: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)  # read from the list item itself

    _sel = field_validator("item", "link", "next_page")(lambda v: v if v is None else _check_selector(v))
    _fields = field_validator("fields")(lambda v: _check_fields(v, _check_selector))


class HtmlSelectors(_Model):
    """CSS selectors (``::text``/``::attr(x)`` allowed) or XPath with an ``xpath:`` prefix."""

    list: HtmlList
    detail: dict[str, str] = Field(default_factory=dict)  # title, body, author, time, replies, reply, reply_time…
    id_pattern: str | None = None  # regex on the detail URL; group 1 is the post's id

    _detail = field_validator("detail")(lambda v: _check_fields(v, _check_selector))

    @field_validator("id_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                if re.compile(value).groups < 1:
                    raise ValueError("id_pattern needs one capturing group")
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from None
        return value


class JsonApi(_Model):
    """JMESPath expressions into a JSON API response (Weibo-style timelines and searches)."""

    items: str  # to the list of posts
    fields: dict[str, str]  # per item: id and body required; url may be a template with {id}
    cursor: str | None = None  # to the next page's cursor in the response; absent/empty: last page
    cursor_param: str = "since_id"  # query parameter that carries the cursor
    page_param: str | None = None  # alternative paging by page number (1, 2, …)

    _items = field_validator("items", "cursor")(lambda v: v if v is None else _check_path(v))

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: dict[str, str]) -> dict[str, str]:
        _check_fields(value, _check_path)
        missing = [k for k in ("id", "body") if k not in value]
        if missing:
            raise ValueError(f"fields must include {', '.join(missing)}")
        return value


class Source(_Model):
    """One place 回音 collects posts from."""

    name: str
    title: str = ""
    kind: Kind
    start_urls: list[str] = Field(min_length=1)
    interval: int = 900  # seconds between crawls; "10m", "2h" accepted
    channel: Channel
    jurisdiction: str | None = None  # org directory code of the place the source belongs to
    encoding: str | None = None  # override when a site lies about (or omits) its charset
    enabled: bool = True
    max_pages: int = Field(5, ge=1, le=100_000)  # list or API pages per crawl
    html: HtmlSelectors | None = None
    json_api: JsonApi | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("lower-case letters, digits, '-' and '_' only (at most 60)")
        return value

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> int:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError("a duration such as 600, '30s', '10m', '2h' or '1d'")
        seconds = int(float(m.group(1)) * _SECONDS[m.group(2)])
        if seconds < 10:
            raise ValueError("at least 10 seconds")
        return seconds

    @field_validator("jurisdiction", mode="before")
    @classmethod
    def _jurisdiction(cls, value: Any) -> str | None:
        if value is None:
            return None
        text = str(value)
        if not re.fullmatch(r"\d{6}(?:\d{3}(?:\d{3})?)?", text):
            raise ValueError("a civil-affairs code of 6, 9 or 12 digits, quoted, e.g. \"130123\"")
        return text

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is not None and not known_encoding(value):
            raise ValueError(f"unknown encoding {value!r}")
        return value

    @field_validator("start_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not re.match(r"^(https?://|\{demo\})", url):
                raise ValueError(f"not an http(s) URL: {url!r}")
        return value

    @model_validator(mode="after")
    def _kind_section(self) -> Source:
        if self.kind == "html" and self.html is None:
            raise ValueError("kind html needs an 'html' section with selectors")
        if self.kind == "json_api" and self.json_api is None:
            raise ValueError("kind json_api needs a 'json_api' section with paths")
        return self

    @property
    def is_demo(self) -> bool:
        """A source of the bundled demo site (its URLs use ``{demo}``)."""
        return any(DEMO_PLACEHOLDER in u for u in self.start_urls)

    def resolved(self, demo_url: str) -> Source:
        """A copy whose ``{demo}`` placeholders point at ``demo_url``."""
        base = demo_url.rstrip("/")
        urls = [u.replace(DEMO_PLACEHOLDER, base) for u in self.start_urls]
        api = self.json_api
        if api is not None and "url" in api.fields:
            api = api.model_copy(update={"fields": {**api.fields, "url": api.fields["url"].replace(DEMO_PLACEHOLDER, base)}})
        return self.model_copy(update={"start_urls": urls, "json_api": api})


def uses_demo_site(source: Source, demo_url: str) -> bool:
    """True if a (resolved) source reads the demo site."""
    base = demo_url.rstrip("/")
    return source.is_demo or any(u.startswith(base + "/") or u == base for u in source.start_urls)


def parse_sources(data: Any, *, origin: str) -> list[Source]:
    """Validate the decoded YAML document; ConfigError names the source and key."""
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("sources", []), list):
        raise ConfigError("采集源文件必须是 {sources: [...]} sources file must hold a 'sources' list", source=origin)
    sources: list[Source] = []
    seen: set[str] = set()
    for index, entry in enumerate(data.get("sources") or []):
        label = entry.get("name") if isinstance(entry, dict) and entry.get("name") else f"#{index + 1}"
        if not isinstance(entry, dict):
            raise ConfigError("采集源条目必须是映射 each source must be a mapping", key=f"sources[{label}]", source=origin)
        try:
            source = Source.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            key = f"sources[{label}]" + (f".{loc}" if loc else "")
            raise ConfigError(f"采集源配置无效 invalid source: {first['msg']}", key=key, source=origin) from None
        if source.name in seen:
            raise ConfigError("采集源名称重复 duplicate source name", key=f"sources[{label}].name", source=origin)
        seen.add(source.name)
        sources.append(source)
    return sources


def load_sources_file(path: Path, demo_url: str | None = None) -> list[Source]:
    """Sources of one YAML file; ``{demo}`` resolved against ``demo_url`` if given."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"无法读取采集源文件 cannot read sources file: {exc}", source=str(path)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML syntax error: {exc}", source=str(path)) from exc
    sources = parse_sources(data, origin=str(path))
    return [s.resolved(demo_url) for s in sources] if demo_url else sources


def load_sources(settings: Settings) -> list[Source]:
    """Every source of the sources file in effect (user config dirs override the shipped one)."""
    return load_sources_file(settings.config_file(settings.crawler.sources_file), settings.crawler.demo_url)


def get_source(settings: Settings, name: str) -> Source:
    """The source called ``name``, or ConfigError listing the known names."""
    sources = load_sources(settings)
    for source in sources:
        if source.name == name:
            return source
    known = ", ".join(s.name for s in sources) or "(none)"
    raise ConfigError(f"没有这个采集源 unknown source; known: {known}", key=name, source=settings.crawler.sources_file)
